/**
 * The cluster's credentials in DATA/tls/: a CA, the API server's certificate (SANs for
 * 127.0.0.1, localhost, the host name, the bind address, and the `kubernetes` Service's
 * ClusterIP and DNS names that pods reach the API by), an admin client certificate,
 * the ServiceAccount token signing key, the admin bearer token and the node join token.
 * Made once and reused; each file is written atomically so a crash leaves none half-written.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { writeFileAtomicSync } from '../../core/atomic-file.js';
import { invalidArgument } from '../../core/errors.js';
import { newServiceAccountKey } from './service-account-token.js';
import { defaultServiceCidr } from './service-cidr.js';

/**
 * What the API server offers in a handshake: TLS 1.2 and 1.3 only; in TLS 1.2 forward-secret
 * AEAD suites only (ECDHE with AES-GCM or ChaCha20-Poly1305: Go's default list, which the
 * Kubernetes API server uses, without its CBC suites), so no static-RSA key exchange, CBC,
 * SHA-1 MAC, CCM8 or ARIA suite is ever negotiated. The TLS 1.3 suites are OpenSSL's defaults.
 */
export const serverTlsOptions = {
  minVersion: 'TLSv1.2',
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
} as const;

/** Everything the server and its kubeconfig need, as PEM text and tokens. */
export interface ClusterCredentials {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
  adminToken: string;
  nodeToken: string;
}

function newKey(): { pem: string; pub: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    pem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    pub: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function sign(opts: {
  cn: string;
  orgs?: string[];
  keyPub: string;
  issuerCert?: forge.pki.Certificate;
  issuerKey: string;
  ca?: boolean;
  server?: { dns: string[]; ips: string[] };
}): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(opts.keyPub);
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + (opts.ca ? 3650 : 825) * 86_400_000);
  const subject: forge.pki.CertificateField[] = [{ name: 'commonName', value: opts.cn }];
  for (const o of opts.orgs ?? []) subject.push({ name: 'organizationName', value: o });
  cert.setSubject(subject);
  cert.setIssuer(opts.issuerCert ? opts.issuerCert.subject.attributes : subject);
  const ext: Record<string, unknown>[] = [];
  if (opts.ca) {
    ext.push({ name: 'basicConstraints', cA: true, critical: true });
    ext.push({ name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true });
  } else {
    ext.push({ name: 'basicConstraints', cA: false });
    ext.push({ name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true });
    ext.push({ name: 'extKeyUsage', serverAuth: !!opts.server, clientAuth: !opts.server });
  }
  if (opts.server) {
    ext.push({
      name: 'subjectAltName',
      altNames: [
        ...opts.server.dns.map((value) => ({ type: 2, value })),
        ...opts.server.ips.map((ip) => ({ type: 7, ip })),
      ],
    });
  }
  ext.push({ name: 'subjectKeyIdentifier' });
  cert.setExtensions(ext);
  cert.sign(forge.pki.privateKeyFromPem(opts.issuerKey), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

const ipLike = (s: string) => /^[0-9.]+$/.test(s) || s.includes(':');

/** Checks `--tls-san` values: each a DNS name (a leading `*.` allowed) or an IP address. */
export function checkTlsSans(sans: string[]): string[] {
  for (const s of sans)
    if (!isIP(s) && !/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i.test(s))
      throw invalidArgument(`Invalid --tls-san "${s}": a DNS name or an IP address is needed`);
  return sans;
}

/**
 * Loads the credentials under `dir`, making whatever is missing. The server certificate is
 * remade (by the same CA) when its SANs differ from the names above, `bindAddress`, the
 * `--tls-san` names and, when bound to 0.0.0.0 or ::, the node's addresses (any of them may
 * change between runs; certificates made by earlier versions lack the Service names).
 */
export function ensureCredentials(
  dir: string,
  bindAddress: string,
  extra: { sans?: string[]; nodeIPs?: string[]; serviceIP?: string } = {},
): ClusterCredentials {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = (n: string) => join(dir, n);
  const read = (n: string) => (existsSync(file(n)) ? readFileSync(file(n), 'utf8') : undefined);
  const write = (n: string, text: string) => writeFileAtomicSync(file(n), text, { mode: 0o600 });

  let caCert = read('ca.crt');
  let caKey = read('ca.key');
  if (!caCert || !caKey) {
    const k = newKey();
    caKey = k.pem;
    caCert = sign({ cn: 'berth-ca', keyPub: k.pub, issuerKey: k.pem, ca: true });
    write('ca.key', caKey);
    write('ca.crt', caCert);
  }
  const issuerCert = forge.pki.certificateFromPem(caCert);

  const dns = [
    'localhost',
    hostname(),
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
  ];
  const ips = ['127.0.0.1', extra.serviceIP ?? defaultServiceCidr.kubernetesIP];
  const wildcard = bindAddress === '0.0.0.0' || bindAddress === '::';
  // Bound to every address, the server is reached by the node's: they are in the certificate.
  const named = [
    ...(extra.sans ?? []),
    ...(wildcard ? (extra.nodeIPs ?? []) : bindAddress ? [bindAddress] : []),
  ];
  for (const n of named) {
    const list = ipLike(n) ? ips : dns;
    if (!list.includes(n)) list.push(n);
  }
  let serverCert = read('server.crt');
  let serverKey = read('server.key');
  const covers = (pem: string) => {
    const c = forge.pki.certificateFromPem(pem);
    const alt = c.getExtension('subjectAltName') as { altNames?: { ip?: string; value?: string }[] } | null;
    const have = new Set((alt?.altNames ?? []).map((a) => a.ip ?? a.value));
    const wanted = new Set([...dns, ...ips]);
    // Remade when the set changes either way: a name dropped from --tls-san stops being valid.
    return wanted.size === have.size && [...wanted].every((n) => have.has(n));
  };
  if (!serverCert || !serverKey || !covers(serverCert)) {
    const k = newKey();
    serverKey = k.pem;
    serverCert = sign({
      cn: 'berth-apiserver',
      keyPub: k.pub,
      issuerCert,
      issuerKey: caKey,
      server: { dns, ips },
    });
    write('server.key', serverKey);
    write('server.crt', serverCert);
  }
  let adminCert = read('admin.crt');
  let adminKey = read('admin.key');
  if (!adminCert || !adminKey) {
    const k = newKey();
    adminKey = k.pem;
    adminCert = sign({ cn: 'admin', orgs: ['system:masters'], keyPub: k.pub, issuerCert, issuerKey: caKey });
    write('admin.key', adminKey);
    write('admin.crt', adminCert);
  }
  let saKey = read('service-account.key');
  let saPub = read('service-account.pub');
  if (!saKey || !saPub) {
    const k = newServiceAccountKey();
    saKey = k.key;
    saPub = k.pub;
    write('service-account.key', saKey);
    write('service-account.pub', saPub);
  }
  const token = (n: string) => {
    let t = read(n)?.trim();
    if (!t) {
      t = randomBytes(24).toString('hex');
      write(n, `${t}\n`);
    }
    return t;
  };
  return {
    caCert,
    caKey,
    serverCert,
    serverKey,
    adminCert,
    adminKey,
    saKey,
    saPub,
    adminToken: token('admin-token'),
    nodeToken: token('node-token'),
  };
}

/**
 * A client certificate for `user` in `groups` (its CN and O fields, which the API server
 * reads as the user and groups), signed by the cluster CA under `dir`.
 */
export function issueClientCertificate(
  dir: string,
  user: string,
  groups: string[],
): { cert: string; key: string } {
  const caCert = readFileSync(join(dir, 'ca.crt'), 'utf8');
  const caKey = readFileSync(join(dir, 'ca.key'), 'utf8');
  const k = newKey();
  const cert = sign({
    cn: user,
    orgs: groups,
    keyPub: k.pub,
    issuerCert: forge.pki.certificateFromPem(caCert),
    issuerKey: caKey,
  });
  return { cert, key: k.pem };
}

/** A client certificate for `cn` in group `org`, for the given public key, signed by the cluster CA. */
export function signClientCertificate(
  creds: Pick<ClusterCredentials, 'caCert' | 'caKey'>,
  cn: string,
  org: string,
  publicKeyPem: string,
): string {
  return sign({
    cn,
    orgs: [org],
    keyPub: publicKeyPem,
    issuerCert: forge.pki.certificateFromPem(creds.caCert),
    issuerKey: creds.caKey,
  });
}
