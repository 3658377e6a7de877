import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createWechatPayAdapter } from '../../../src/channels/wechatpay/adapter.js';
import {
  WECHATPAY_AUTHORIZATION_MAX_LENGTH,
  WECHATPAY_HEADER_MAX_LENGTH,
  WECHATPAY_SIGNATURE_TYPE,
  checkWechatpaySignature,
  parseQuotedParameters,
  parseWechatpayAuthorization,
  wechatpayAuthorization,
  wechatpayKeysOf,
} from '../../../src/channels/wechatpay/protocol.js';
import { generateKeyring } from '../../../src/crypto/keyring.js';
import { signWechatpayBody } from '../../../src/sandbox/channels/wechatpay/protocol.js';

/**
 * Headers anyone can send are read in linear time and refused when longer than any genuine one.
 * Nothing here is timed: the parser counts the characters it looks at.
 */
const keyring = generateKeyring();

/** How many characters reading `text` looks at, and what it answers. */
function countedParse(text: string) {
  let looked = 0;
  const params = parseQuotedParameters(text, () => (looked += 1));
  return { params, looked };
}

/** Texts that made the regex this parser replaced backtrack (quadratic), and a few more. */
const adversarial = (n: number): string[] => [
  'a'.repeat(n),
  'a='.repeat(n / 2),
  'a="'.repeat(n / 3),
  `a="${'x'.repeat(n)}`,
  'a="b",'.repeat(n / 6),
  ` ${'_'.repeat(n)}=`,
  `${'a="b" '.repeat(n / 6)}`,
];

describe('reading name="value" parameters', () => {
  it('reads what the merchant signs, and refuses what is not that shape', () => {
    expect(countedParse('mchid="19",nonce_str="N", timestamp="1"').params).toEqual(
      new Map([
        ['mchid', '19'],
        ['nonce_str', 'N'],
        ['timestamp', '1'],
      ]),
    );
    for (const bad of ['', 'a', 'a=b', 'a="b', 'a="b",', 'a="b"c="d"', 'a="b",a="c"', 'a-b="c"', ',a="b"']) {
      expect(countedParse(bad).params, bad).toBeUndefined();
    }
  });

  it('looks at each character at most once, whatever the text: linear work', () => {
    for (const n of [60, 600, 6_000, 60_000]) {
      for (const text of adversarial(n)) expect(countedParse(text).looked).toBeLessThanOrEqual(text.length);
    }
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', '_', '=', '"', ',', ' ', 'x', '9'), maxLength: 400 }),
        (text) => {
          expect(countedParse(text).looked).toBeLessThanOrEqual(text.length);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('the WeChat Pay Authorization header', () => {
  it('still reads the header the merchant sends', () => {
    const header = wechatpayAuthorization(keyring.wechatpay, 'GET', '/v3/certificates', '');
    expect(parseWechatpayAuthorization(header)).toMatchObject({
      mchid: keyring.wechatpay.mchId,
      serial_no: keyring.wechatpay.merchantSerialNo,
    });
  });

  it('refuses a 1 MB header before looking at a single character of it', () => {
    let looked = 0;
    const header = `${WECHATPAY_SIGNATURE_TYPE} ${'a'.repeat(1_048_576)}`;
    expect(parseWechatpayAuthorization(header, () => (looked += 1))).toBeUndefined();
    expect(looked).toBe(0);
    const longest = `${WECHATPAY_SIGNATURE_TYPE} ${'a'.repeat(WECHATPAY_AUTHORIZATION_MAX_LENGTH)}`;
    expect(parseWechatpayAuthorization(longest, () => (looked += 1))).toBeUndefined();
    expect(looked).toBe(0);
  });

  it('looks at no more characters than the header has, up to the longest admitted', () => {
    const room = WECHATPAY_AUTHORIZATION_MAX_LENGTH - WECHATPAY_SIGNATURE_TYPE.length - 1;
    for (const text of adversarial(room - 6)) {
      let looked = 0;
      parseWechatpayAuthorization(`${WECHATPAY_SIGNATURE_TYPE} ${text}`, () => (looked += 1));
      expect(looked).toBeLessThanOrEqual(text.length);
    }
  });
});

describe('Wechatpay-* signature headers', () => {
  const keys = wechatpayKeysOf(keyring.wechatpay.platformKeys);
  const platform = keyring.wechatpay.platformKeys[0]!;
  const body = Buffer.from('{"id":"evt"}');
  const signed = Object.fromEntries(
    Object.entries(
      signWechatpayBody(body.toString(), { serial: platform.serial, privateKey: platform.privateKey! }),
    ).map(([name, value]) => [name.toLowerCase(), value]),
  );

  it('are refused when one is longer than any genuine one, before the signature is checked', () => {
    expect(checkWechatpaySignature(signed, body, keys)).toBeUndefined();
    for (const name of ['wechatpay-serial', 'wechatpay-signature', 'wechatpay-nonce', 'wechatpay-timestamp']) {
      const headers = { ...signed, [name]: 'A'.repeat(WECHATPAY_HEADER_MAX_LENGTH + 1) };
      expect(checkWechatpaySignature(headers, body, keys), name).toBe('oversized_header');
    }
  });
});

describe("WeChat Pay's failure answer", () => {
  const adapter = createWechatPayAdapter({
    baseUrl: 'http://127.0.0.1:9/sandbox/wechatpay',
    keyring: keyring.wechatpay,
    timeoutMs: 1_000,
    maxAmount: 50_000_000,
  });

  it('is the same generic FAIL whatever the reason, so it tells a forger nothing', () => {
    const answers = ['unknown_serial', 'bad_signature', 'amount 1 differs from 19900'].map((r) =>
      adapter.ackFailure(r),
    );
    for (const answer of answers) {
      expect(answer).toEqual({
        status: 400,
        contentType: 'application/json',
        body: '{"code":"FAIL","message":"失败"}',
      });
    }
  });
});
