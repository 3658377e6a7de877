import { sign, verify, type KeyObject } from 'node:crypto';

/**
 * SHA256withRSA (PKCS#1 v1.5) with base64 signatures: what Alipay calls RSA2, WeChat Pay
 * `WECHATPAY2-SHA256-RSA2048`, UnionPay 5.1.0 `signMethod 01` and PayPal `SHA256withRSA`.
 */

/** Signs `content` (UTF-8 when a string), base64. */
export function signSha256Rsa(content: string | Buffer, privateKey: string | KeyObject): string {
  const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  return sign('sha256', data, privateKey).toString('base64');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Longest signature looked at: an RSA-4096 signature is 684 base64 characters. */
const SIGNATURE_MAX_LENGTH = 1024;

/**
 * Verifies a base64 SHA256withRSA signature. The signature must be canonical base64: a lenient
 * decode would let altered bytes pass. `false` for anything malformed or longer than any RSA
 * signature; never throws.
 */
export function verifySha256Rsa(content: string | Buffer, signature: string, publicKey: string | KeyObject): boolean {
  if (signature === '' || signature.length > SIGNATURE_MAX_LENGTH || !BASE64.test(signature)) return false;
  try {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    return verify('sha256', data, publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
