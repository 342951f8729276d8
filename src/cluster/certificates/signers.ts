/**
 * The certificates.k8s.io signers Berth serves, and what each one accepts (after upstream's
 * certificates/v1 helpers and the csrsigning controller): a request's usages must be among the
 * signer's allowed ones and include the one it requires, and the kubelet signers sign only a
 * `system:node:NAME` subject in organization `system:nodes` (client: no SANs at all; serving:
 * DNS and IP SANs only, at least one). A request that fails these is never signed: the signer
 * marks it Failed with the reason, as upstream's does.
 */
import { randomBytes } from 'node:crypto';
import forge from 'node-forge';

export const kubeApiserverClient = 'kubernetes.io/kube-apiserver-client';
export const kubeletClient = 'kubernetes.io/kube-apiserver-client-kubelet';
export const kubeletServing = 'kubernetes.io/kubelet-serving';

export const knownSigners = [kubeApiserverClient, kubeletClient, kubeletServing];

/** What a PEM CERTIFICATE REQUEST asks for. */
export interface ParsedRequest {
  commonName: string;
  organizations: string[];
  dns: string[];
  ips: string[];
  emails: string[];
  uris: string[];
  /** The requested public key (PEM), which the signed certificate carries. */
  publicKey: string;
}

/** Parses and verifies (self-signature) a PEM certificate request; throws a sentence on failure. */
export function parseRequest(pem: string): ParsedRequest {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(pem);
  } catch (e) {
    throw new Error(`the request is not a PEM certificate request (RSA keys only): ${(e as Error).message}`);
  }
  if (!csr.verify()) throw new Error('the request is not signed by the key it carries');
  const field = (n: string) => csr.subject.attributes.filter((a) => a.name === n).map((a) => String(a.value));
  const ext = csr.getAttribute({ name: 'extensionRequest' }) as {
    extensions?: { name: string; altNames?: { type: number; value?: string; ip?: string }[] }[];
  } | null;
  const alt = ext?.extensions?.find((x) => x.name === 'subjectAltName')?.altNames ?? [];
  const of = (t: number) => alt.filter((a) => a.type === t).map((a) => (t === 7 ? a.ip : a.value) ?? '');
  return {
    commonName: field('commonName')[0] ?? '',
    organizations: field('organizationName'),
    dns: of(2),
    ips: of(7),
    emails: of(1),
    uris: of(6),
    publicKey: forge.pki.publicKeyToPem(csr.publicKey as forge.pki.PublicKey),
  };
}

interface SignerRules {
  allowed: string[];
  required: string;
  /** Further checks of the subject; returns what is wrong, or undefined. */
  subject?(r: ParsedRequest): string | undefined;
}

const kubeletSubject = (r: ParsedRequest): string | undefined => {
  if (r.organizations.length !== 1 || r.organizations[0] !== 'system:nodes')
    return 'subject organization is not system:nodes';
  if (!r.commonName.startsWith('system:node:')) return 'subject common name does not begin with system:node:';
  return undefined;
};

const rules: Record<string, SignerRules> = {
  [kubeApiserverClient]: {
    allowed: ['digital signature', 'key encipherment', 'client auth'],
    required: 'client auth',
  },
  [kubeletClient]: {
    allowed: ['digital signature', 'key encipherment', 'client auth'],
    required: 'client auth',
    subject: (r) =>
      kubeletSubject(r) ??
      (r.dns.length + r.ips.length + r.emails.length + r.uris.length
        ? 'a node client certificate has no subject alternative names'
        : undefined),
  },
  [kubeletServing]: {
    allowed: ['digital signature', 'key encipherment', 'server auth'],
    required: 'server auth',
    subject: (r) =>
      kubeletSubject(r) ??
      (r.emails.length || r.uris.length
        ? 'email and URI subject alternative names are not allowed'
        : r.dns.length + r.ips.length === 0
          ? 'DNS or IP subject alternative names are required'
          : undefined),
  },
};

/** Why `signer` may not sign this request with these usages, or undefined if it may. */
export function signerRefusal(signer: string, usages: string[], r: ParsedRequest): string | undefined {
  const s = rules[signer];
  if (!s) return `unknown signer ${signer}`;
  const extra = usages.filter((u) => !s.allowed.includes(u));
  if (extra.length) return `usages ${JSON.stringify(extra)} are not allowed for signer ${signer}`;
  if (!usages.includes(s.required)) return `missing required usage "${s.required}" for signer ${signer}`;
  return s.subject?.(r);
}

/** The key usage and extended key usage extensions for a request's usages. */
function usageExtensions(usages: string[]): Record<string, unknown>[] {
  const digitalSignature = usages.includes('digital signature');
  const keyEncipherment = usages.includes('key encipherment');
  return [
    { name: 'basicConstraints', cA: false },
    // An empty key usage makes the certificate invalid: left out, as Go's x509 leaves it.
    ...(digitalSignature || keyEncipherment
      ? [{ name: 'keyUsage', critical: true, digitalSignature, keyEncipherment }]
      : []),
    {
      name: 'extKeyUsage',
      serverAuth: usages.includes('server auth'),
      clientAuth: usages.includes('client auth'),
    },
  ];
}

/**
 * Signs an accepted request with the CA: the subject and SANs as requested, valid for
 * `seconds` from now (upstream caps it at the signer's duration, a year by default). It is
 * backdated a little for clocks that lag (upstream: 5 minutes): a minute, or 1% of a short
 * life, so that the share of its life a renewer waits (70-90%) is not eaten by the backdating.
 */
export function signRequest(
  ca: { cert: string; key: string },
  r: ParsedRequest,
  usages: string[],
  seconds: number,
  now = Date.now(),
): string {
  const issuer = forge.pki.certificateFromPem(ca.cert);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(r.publicKey);
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(now - Math.min(60_000, seconds * 10));
  cert.validity.notAfter = new Date(now + seconds * 1000);
  const subject: forge.pki.CertificateField[] = [{ name: 'commonName', value: r.commonName }];
  for (const o of r.organizations) subject.push({ name: 'organizationName', value: o });
  cert.setSubject(subject);
  cert.setIssuer(issuer.subject.attributes);
  const ext = usageExtensions(usages);
  const alt = [...r.dns.map((value) => ({ type: 2, value })), ...r.ips.map((ip) => ({ type: 7, ip }))];
  if (alt.length) ext.push({ name: 'subjectAltName', altNames: alt });
  ext.push({ name: 'subjectKeyIdentifier' });
  cert.setExtensions(ext);
  cert.sign(forge.pki.privateKeyFromPem(ca.key), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** A PEM certificate request for `cn` in `orgs` with the given SANs, signed by `keyPem` (RSA). */
export function makeRequest(
  keyPem: string,
  cn: string,
  orgs: string[],
  san: { dns?: string[]; ips?: string[] } = {},
): string {
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  csr.setSubject([
    { name: 'commonName', value: cn },
    ...orgs.map((value) => ({ name: 'organizationName', value })),
  ]);
  const alt = [
    ...(san.dns ?? []).map((value) => ({ type: 2, value })),
    ...(san.ips ?? []).map((ip) => ({ type: 7, ip })),
  ];
  if (alt.length)
    csr.setAttributes([
      { name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: alt }] },
    ]);
  csr.sign(key, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}
