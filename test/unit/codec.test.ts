import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { describe, expect, it } from 'vitest';
import { hostNameOf, issueCodecSession, verifyCodecSession } from '../../src/api/routes/codec.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { generateCodecKeys } from '../../src/crypto/keyring.js';
import { CodecKeyError, EnvelopeCodec, UndecodablePayloadError, dataConverterFor } from '../../src/temporal/codec.js';

const keys = generateCodecKeys();
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => new TextDecoder().decode(b ?? new Uint8Array());
const plain = (value: unknown): Payload => ({
  metadata: { encoding: utf8('json/plain') },
  data: utf8(JSON.stringify(value)),
});

describe('the envelope codec', () => {
  it('reuses a data key for a bounded count, each payload with its own IV', async () => {
    const codec = new EnvelopeCodec(keys, { dataKeyMaxUses: 2 });
    const written = await codec.encode([plain('x'), plain('x'), plain('x')]);
    const wrappedKeys = written.map((p) => Buffer.from(p.metadata?.['encryption-wrapped-key'] ?? []).toString('hex'));
    expect(wrappedKeys[0]).toBe(wrappedKeys[1]);
    expect(wrappedKeys[2]).not.toBe(wrappedKeys[1]);
    // The same value under the same key still encrypts differently (a fresh IV each time).
    expect(Buffer.from(written[0]?.data ?? []).equals(Buffer.from(written[1]?.data ?? []))).toBe(false);
    expect((await new EnvelopeCodec(keys).decode(written)).map((p) => text(p.data))).toEqual(['"x"', '"x"', '"x"']);
  });

  it('makes a new data key once the current one is too old', async () => {
    const codec = new EnvelopeCodec(keys, { dataKeyMaxAgeMs: 1 });
    const [first] = await codec.encode([plain(1)]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const [second] = await codec.encode([plain(2)]);
    expect(Buffer.from(first?.metadata?.['encryption-wrapped-key'] ?? []).toString('hex')).not.toBe(
      Buffer.from(second?.metadata?.['encryption-wrapped-key'] ?? []).toString('hex'),
    );
  });

  it('decodes what it encoded, each payload under a data key of its own', async () => {
    const codec = new EnvelopeCodec(keys, { dataKeyMaxUses: 1 });
    const written = await codec.encode([plain({ learner: 'a' }), plain({ learner: 'b' })]);
    expect(written.map((p) => text(p.metadata?.encoding))).toEqual(['binary/encrypted', 'binary/encrypted']);
    expect(text(written[0]?.metadata?.['encryption-wrapped-key'])).not.toBe(
      text(written[1]?.metadata?.['encryption-wrapped-key']),
    );
    const read = await new EnvelopeCodec(keys).decode(written);
    expect(read.map((p) => text(p.data))).toEqual(['{"learner":"a"}', '{"learner":"b"}']);
  });

  it('decodes many fresh payloads at once, and the same payload again from its cached key', async () => {
    const codec = new EnvelopeCodec(keys, { unwrapConcurrency: 2, dataKeyMaxUses: 1 });
    const written = await codec.encode(Array.from({ length: 12 }, (_, i) => plain({ i })));
    const [first, again] = await Promise.all([codec.decode(written), codec.decode(written)]);
    expect(first.map((p) => text(p.data))).toEqual(Array.from({ length: 12 }, (_, i) => `{"i":${i}}`));
    expect(again.map((p) => text(p.data))).toEqual(first.map((p) => text(p.data)));
  });

  it('names the payload it cannot decrypt, whatever is wrong with it', async () => {
    const codec = new EnvelopeCodec(keys);
    const [good, bad] = await codec.encode([plain(1), plain(2)]);
    if (!good || !bad) throw new Error('no payloads');
    const damaged = new Uint8Array(bad.data ?? []);
    damaged[damaged.length - 1] = (damaged[damaged.length - 1] ?? 0) ^ 1;
    const cases: Payload[] = [
      { ...bad, data: damaged },
      { ...bad, data: new Uint8Array(4) },
      { ...bad, metadata: { ...bad.metadata, 'encryption-wrapped-key': new Uint8Array(384) } },
      { ...bad, metadata: { ...bad.metadata, 'encryption-key-id': utf8('ck_0000000000000000') } },
    ];
    for (const payload of cases) {
      const failure = await new EnvelopeCodec(keys).decode([good, payload]).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(UndecodablePayloadError);
      expect(failure).toBeInstanceOf(CodecKeyError);
      expect((failure as UndecodablePayloadError).index).toBe(1);
    }
  });

  it('passes plaintext through for the codec server, and refuses it for workers and clients', async () => {
    const unencrypted = plain({ forged: true });
    expect(await new EnvelopeCodec(keys).decode([unencrypted])).toEqual([unencrypted]);
    const [refused] = await new EnvelopeCodec(keys, { refusePlaintext: true }).decode([unencrypted]);
    expect(text(refused?.metadata?.encoding)).toBe('binary/null');
  });
});

describe('the failure converter of every worker and client', () => {
  it('moves a failure’s message and stack trace into an encrypted payload', async () => {
    // The SDK loads it by path with require(): this proves the path loads outside any TypeScript loader.
    const converter = loadDataConverter(dataConverterFor({ temporalCodec: keys }));
    const err = ApplicationFailure.create({
      type: 'ChannelUnavailableError',
      message: 'http://10.0.0.5:8443/gateway.do answered HTTP 503',
    });
    const failure = converter.failureConverter.errorToFailure(err, defaultPayloadConverter);
    expect(failure.message).toBe('Encoded failure');
    expect(failure.stackTrace).toBe('');
    expect(failure.applicationFailureInfo?.type).toBe('ChannelUnavailableError');
    const [sealed] = await converter.payloadCodecs[0]!.encode([failure.encodedAttributes!]);
    expect(text(sealed?.metadata?.encoding)).toBe('binary/encrypted');
    expect(text(sealed?.data)).not.toContain('10.0.0.5');

    const [opened] = await new EnvelopeCodec(keys).decode([sealed!]);
    const back = converter.failureConverter.failureToError(
      { ...failure, encodedAttributes: opened },
      defaultPayloadConverter,
    );
    expect(back.message).toBe('http://10.0.0.5:8443/gateway.do answered HTTP 503');
  });

  it('still reads failures written in plaintext before it', () => {
    const converter = loadDataConverter(dataConverterFor({ temporalCodec: keys }));
    const back = converter.failureConverter.failureToError(
      { message: 'written before', stackTrace: 'Error: written before', applicationFailureInfo: { type: 'Old' } },
      defaultPayloadConverter,
    );
    expect(back.message).toBe('written before');
  });
});

describe('codec browser sessions', () => {
  const token = 'cst_the-codec-token-the-codec-token';
  const now = Date.parse('2026-03-01T10:00:00Z');

  it('hold for twelve hours under the token that issued them, and no longer', () => {
    const { value, expiresAt } = issueCodecSession(token, now);
    expect(expiresAt.toISOString()).toBe('2026-03-01T22:00:00.000Z');
    expect(verifyCodecSession(token, value, now + 60_000)).toEqual(expiresAt);
    expect(verifyCodecSession(token, value, expiresAt.getTime())).toBeUndefined();
    expect(verifyCodecSession(`${token}-rotated`, value, now)).toBeUndefined();
  });

  it('refuse a tampered or self-made value', () => {
    const { value } = issueCodecSession(token, now);
    const [, expiry, mac] = value.split('.');
    expect(verifyCodecSession(token, `v1.${Number(expiry) + 3600}.${mac}`, now)).toBeUndefined();
    expect(verifyCodecSession(token, `v1.${Number(expiry) + 86_400 * 365}.${mac}`, now)).toBeUndefined();
    expect(verifyCodecSession(token, `v1.${expiry}.${'A'.repeat(43)}`, now)).toBeUndefined();
    for (const junk of ['', 'v1', 'v1..', `v2.${expiry}.${mac}`, `${value}x`]) {
      expect(verifyCodecSession(token, junk, now), junk).toBeUndefined();
    }
  });
});

describe('the Host names the codec server compares', () => {
  it.each([
    ['127.0.0.1:3000', '127.0.0.1'],
    ['LOCALHOST:3000', 'localhost'],
    ['[::1]:3000', '[::1]'],
    ['pay.example.com', 'pay.example.com'],
    ['pay.example.com:80', 'pay.example.com'],
  ])('reads %s as %s', (host, name) => {
    expect(hostNameOf(host)).toBe(name);
  });

  it.each([
    '',
    '127.0.0.1@attacker.example',
    'attacker.example#x',
    'attacker.example/x',
    'a b',
    '127.1',
    'x'.repeat(400),
  ])('refuses %j', (host) => {
    expect(hostNameOf(host)).toBeUndefined();
  });
});

describe('codec server configuration', () => {
  const base = { NODE_ENV: 'development' };

  it('refuses the removed loopback exemption, naming the variable', () => {
    expect(() => loadConfig({ ...base, CODEC_ALLOW_LOOPBACK: 'true' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, CODEC_ALLOW_LOOPBACK: 'true' })).toThrow(/CODEC_ALLOW_LOOPBACK: removed/);
    expect(() => loadConfig({ ...base, CODEC_ALLOW_LOOPBACK: 'false' })).not.toThrow();
  });

  it('bounds each request by default: 64 payloads, 512 KiB, 1200 requests a minute per client', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({
      CODEC_MAX_PAYLOADS: 64,
      CODEC_BODY_LIMIT_BYTES: 524_288,
      CODEC_RATE_LIMIT_PER_MINUTE: 1_200,
    });
    expect(() => loadConfig({ ...base, CODEC_MAX_PAYLOADS: '1001' })).toThrow(/CODEC_MAX_PAYLOADS/);
    expect(() => loadConfig({ ...base, CODEC_ALLOWED_HOSTS: 'pay.example.com, api.internal:8443' })).not.toThrow();
    expect(() => loadConfig({ ...base, CODEC_ALLOWED_HOSTS: 'a/b' })).toThrow(/CODEC_ALLOWED_HOSTS/);
  });
});
