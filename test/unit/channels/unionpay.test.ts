import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkUnionpaySignature,
  formatUnionpayTime,
  parseUnionpayForm,
  parseUnionpayTime,
  paymentIdOfUnionpayOrder,
  signUnionpayFields,
  unionpayOrderIdOf,
  unionpayRefundOrderIdOf,
  unionpaySigningString,
  unionpayTrustOf,
} from '../../../src/channels/unionpay/protocol.js';
import { issueCertificate } from '../../../src/crypto/certificates.js';
import { generateUnionpayKeys } from '../../../src/crypto/keyring.js';

const keys = generateUnionpayKeys();
const trust = unionpayTrustOf(keys);
const message = {
  version: '5.1.0',
  encoding: 'UTF-8',
  signMethod: '01',
  txnType: '01',
  merId: keys.merId,
  orderId: 'abcdefgh2345',
  txnAmt: '19900',
  signPubKeyCert: keys.signingCertificate!,
};

describe('UnionPay 5.1.0 wire format', () => {
  it('signs over every non-empty field but signature, sorted, values as they are', () => {
    expect(unionpaySigningString({ b: '2', a: 'x=y&z', signature: 'S', empty: '', c: undefined })).toBe('a=x=y&z&b=2');
  });

  it('verifies its own signature through the configured chain, and refuses one changed field', () => {
    const signed = signUnionpayFields(message, keys.signingPrivateKey!);
    expect(checkUnionpaySignature(signed, trust)).toBeUndefined();
    expect(checkUnionpaySignature({ ...signed, txnAmt: '19901' }, trust)).toBe('bad_signature');
    expect(checkUnionpaySignature({ ...signed, version: '5.0.0' }, trust)).toBe('unsupported_version');
    expect(checkUnionpaySignature({ ...signed, signPubKeyCert: undefined }, trust)).toBe('missing_signature');
  });

  it('refuses a signer certificate that has expired, names another subject, or chains to another root', () => {
    const signed = signUnionpayFields(message, keys.signingPrivateKey!);
    const later = new Date(Date.now() + 20 * 365 * 24 * 60 * 60 * 1000);
    expect(checkUnionpaySignature(signed, trust, later)).toBe('certificate_expired');
    expect(checkUnionpaySignature(signed, { ...trust, signerCommonName: '中国银联股份有限公司' })).toBe(
      'wrong_certificate_subject',
    );
    const otherRoot = issueCertificate({ commonName: 'Other Root', serial: '9', ca: true });
    expect(checkUnionpaySignature(signed, { ...trust, root: new X509Certificate(otherRoot.certificate) })).toBe(
      'untrusted_certificate',
    );
    const selfSigned = issueCertificate({ commonName: keys.signerCommonName, serial: '77', ca: false });
    const forged = signUnionpayFields({ ...message, signPubKeyCert: selfSigned.certificate }, selfSigned.privateKey);
    expect(checkUnionpaySignature(forged, trust)).toBe('untrusted_certificate');
  });

  it('writes and reads Beijing time as YYYYMMDDhhmmss, refusing impossible dates', () => {
    const at = new Date('2026-12-02T16:30:05Z');
    expect(formatUnionpayTime(at)).toBe('20261203003005');
    expect(parseUnionpayTime('20261203003005')?.toISOString()).toBe(at.toISOString());
    expect(parseUnionpayTime('20260231120000')).toBeUndefined();
    expect(parseUnionpayTime('2026-12-03')).toBeUndefined();
  });

  it('makes orderIds of 8-32 letters and digits from payment and refund ids, and reads payments back', () => {
    const paymentId = 'pay_abcdefghijklmnopqrstuvwxyz23';
    expect(unionpayOrderIdOf(paymentId)).toBe('abcdefghijklmnopqrstuvwxyz23');
    expect(paymentIdOfUnionpayOrder(unionpayOrderIdOf(paymentId))).toBe(paymentId);
    expect(unionpayRefundOrderIdOf('rfd_0123456789abcdef0123456789abcdef-2')).toMatch(/^[0-9a-f]{32}$/);
    expect(() => unionpayOrderIdOf('pay_with-dash')).toThrow(RangeError);
  });

  it('reads a form once per field: a repeated field is refused', () => {
    expect(parseUnionpayForm('a=1&b=%E4%B8%AD')).toEqual({ a: '1', b: '中' });
    expect(parseUnionpayForm('a=1&a=2')).toBeUndefined();
  });
});
