/** Certificates for tests of what happens around a certificate's end of life. */
import forge from 'node-forge';

/** A self-signed certificate valid for the day before `notAfter`, as PEM. */
export function selfSignedCertificate(notAfter: Date, cn = 'x'): string {
  const keys = forge.pki.rsa.generateKeyPair(1024);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(notAfter.getTime() - 86_400_000);
  cert.validity.notAfter = notAfter;
  cert.setSubject([{ name: 'commonName', value: cn }]);
  cert.setIssuer([{ name: 'commonName', value: cn }]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}
