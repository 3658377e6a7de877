import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

/**
 * X.509 certificates for the channels that sign with certificates (UnionPay's ACP gateway). Node
 * reads and checks certificates (`X509Certificate`) but cannot issue them; `node-forge` issues the
 * ones a development keyring generates (the sandbox plays UnionPay with its own root,
 * intermediate and signing certificate). A production keyring holds the real ones.
 */

export interface IssuedCertificate {
  /** PEM (`-----BEGIN CERTIFICATE-----`). */
  certificate: string;
  /** PEM (PKCS#8). */
  privateKey: string;
}

export interface CertificateRequest {
  commonName: string;
  organization?: string;
  /** Decimal serial number (UnionPay names certificates by it: `certId`). */
  serial: string;
  /** Whether it may sign other certificates. */
  ca: boolean;
  /** The issuer; a self-signed certificate when absent. */
  issuer?: IssuedCertificate;
  validFrom?: Date;
  validDays?: number;
}

/** A fresh RSA-2048 key and a certificate for it, signed (SHA-256) by `issuer` or by itself. */
export function issueCertificate(request: CertificateRequest): IssuedCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = BigInt(request.serial).toString(16).padStart(2, '0');
  const from = request.validFrom ?? new Date(Date.now() - 24 * 60 * 60 * 1000);
  cert.validity.notBefore = from;
  cert.validity.notAfter = new Date(from.getTime() + (request.validDays ?? 3650) * 24 * 60 * 60 * 1000);
  const subject = [
    { shortName: 'C', value: 'CN' },
    ...(request.organization === undefined ? [] : [{ shortName: 'O', value: request.organization }]),
    { shortName: 'CN', value: request.commonName },
  ].map((attr) => ({ ...attr, valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class }));
  cert.setSubject(subject);
  const issuerCert =
    request.issuer === undefined ? undefined : forge.pki.certificateFromPem(request.issuer.certificate);
  cert.setIssuer(issuerCert === undefined ? subject : issuerCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: request.ca, critical: true },
    {
      name: 'keyUsage',
      critical: true,
      ...(request.ca ? { keyCertSign: true, cRLSign: true } : { digitalSignature: true }),
    },
  ]);
  // forge reads PKCS#1 PEM; Node converts the issuer's PKCS#8 key to it.
  const issuerKey = createPrivateKey(request.issuer?.privateKey ?? privatePem);
  const signingKey = forge.pki.privateKeyFromPem(issuerKey.export({ type: 'pkcs1', format: 'pem' }).toString());
  cert.sign(signingKey, forge.md.sha256.create());
  return { certificate: forge.pki.certificateToPem(cert), privateKey: privatePem };
}

/** A certificate's serial number in decimal, as UnionPay's `certId` names it. */
export function certificateSerialDecimal(certificatePem: string): string {
  return BigInt(`0x${new X509Certificate(certificatePem).serialNumber}`).toString(10);
}

/** The subject's common name (`CN=`), decoded; `undefined` when it has none. */
export function subjectCommonName(certificate: X509Certificate): string | undefined {
  for (const line of certificate.subject.split('\n')) if (line.startsWith('CN=')) return line.slice(3);
  return undefined;
}

/**
 * Checks `leaf` (PEM) against a chain of trust: valid at `now`, issued and signed by
 * `intermediate`, which is itself valid, a CA, and issued and signed by `root`; and, when given,
 * its subject's common name. Answers the leaf's public key, or why it is not trusted.
 */
export function verifyCertificateChain(
  leafPem: string,
  chain: { root: X509Certificate; intermediate: X509Certificate },
  options: { now?: Date; commonName?: string } = {},
): { ok: true; publicKey: KeyObject } | { ok: false; reason: string } {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafPem);
  } catch {
    return { ok: false, reason: 'malformed_certificate' };
  }
  const now = (options.now ?? new Date()).getTime();
  const inValidity = (cert: X509Certificate) => Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);
  if (!inValidity(leaf) || !inValidity(chain.intermediate) || !inValidity(chain.root)) {
    return { ok: false, reason: 'certificate_expired' };
  }
  const { root, intermediate } = chain;
  if (!intermediate.ca || !leaf.checkIssued(intermediate) || !intermediate.checkIssued(root)) {
    return { ok: false, reason: 'untrusted_certificate' };
  }
  if (!leaf.verify(intermediate.publicKey) || !intermediate.verify(root.publicKey)) {
    return { ok: false, reason: 'untrusted_certificate' };
  }
  if (options.commonName !== undefined && subjectCommonName(leaf) !== options.commonName) {
    return { ok: false, reason: 'wrong_certificate_subject' };
  }
  return { ok: true, publicKey: createPublicKey(leaf.publicKey.export({ type: 'spki', format: 'pem' })) };
}
