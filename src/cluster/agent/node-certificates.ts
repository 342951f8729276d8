/**
 * The node's two certificates after it joined, as the kubelet keeps them: its client
 * certificate (`system:node:NAME` in `system:nodes`, signer kube-apiserver-client-kubelet) and
 * its serving certificate (signer kubelet-serving, the node's addresses as SANs, asked for once
 * the Node reports them). Each is kept with its key in one file, `client.pem` or `serving.pem`
 * in the agent's data dir, replaced atomically, so a crash never leaves a certificate beside
 * the wrong key; both are renewed through new CSRs before they expire (cert-rotation.ts).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../../core/atomic-file.js';
import { requestCertificate } from '../certificates/request.js';
import { kubeletClient, kubeletServing, makeRequest } from '../certificates/signers.js';
import type { KubeClient } from '../client/kube-client.js';
import { CertificateRotation, type KeyPair } from './cert-rotation.js';

export type { KeyPair } from './cert-rotation.js';

export type PairName = 'client' | 'serving';

const pemBlocks = (text: string, label: RegExp) =>
  (text.match(/-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----(\r?\n)?/g) ?? []).filter((b) =>
    label.test(b.slice(11, b.indexOf('-----', 11))),
  );

/**
 * The saved pair, or undefined. Reads `NAME.pem`; a data dir from before rotation existed holds
 * `NAME.crt` with the shared `node.key`, which is read instead.
 */
export function readPair(dir: string, name: PairName): KeyPair | undefined {
  const pem = join(dir, `${name}.pem`);
  if (existsSync(pem)) {
    const text = readFileSync(pem, 'utf8');
    const cert = pemBlocks(text, /^CERTIFICATE$/).join('');
    const key = pemBlocks(text, /PRIVATE KEY$/).join('');
    return cert && key ? { cert, key } : undefined;
  }
  const [crt, key] = [join(dir, `${name}.crt`), join(dir, 'node.key')];
  if (existsSync(crt) && existsSync(key))
    return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') };
  return undefined;
}

/** Saves a pair as one file (0600), replaced atomically. */
export function writePair(dir: string, name: PairName, pair: KeyPair): void {
  const cert = pair.cert.endsWith('\n') ? pair.cert : `${pair.cert}\n`;
  writeFileAtomicSync(join(dir, `${name}.pem`), cert + pair.key, { mode: 0o600 });
}

/** Whether the certificate is valid now (not before its start, not after its end). */
export function validNow(certPem: string, now = Date.now()): boolean {
  const c = new X509Certificate(certPem);
  return Date.parse(c.validFrom) <= now && now < Date.parse(c.validTo);
}

const clientUsages = ['digital signature', 'key encipherment', 'client auth'];
const servingUsages = ['digital signature', 'key encipherment', 'server auth'];

/**
 * Renews the node's client certificate through the node's own client (the csrapproving
 * controller approves a node renewing itself, `selfnodeclient`), then saves it and switches
 * the client to it. If the certificate in use has expired (the node was cut off from the API
 * past its end), the request goes through `bootstrap`, a client with the join token, as the
 * kubelet falls back to its bootstrap credentials.
 */
export function rotateClientCertificate(opts: {
  client: KubeClient;
  dir: string;
  nodeName: string;
  current: KeyPair;
  bootstrap?: () => KubeClient;
}): CertificateRotation {
  const subject = `system:node:${opts.nodeName}`;
  const rotation: CertificateRotation = new CertificateRotation({
    name: 'client',
    current: opts.current,
    renew: async (key) => {
      const inUse = rotation.current;
      const via = (inUse && validNow(inUse.cert)) || !opts.bootstrap ? opts.client : opts.bootstrap();
      try {
        return await requestCertificate(via, {
          request: makeRequest(key, subject, ['system:nodes']),
          signerName: kubeletClient,
          usages: clientUsages,
        });
      } finally {
        if (via !== opts.client) via.close();
      }
    },
    rotated: (pair) => {
      writePair(opts.dir, 'client', pair);
      opts.client.useClientCertificate(pair.cert, pair.key);
    },
  });
  return rotation.start();
}

/** The DNS names and IP addresses a Node's `status.addresses` give, as serving SANs. */
export function addressSans(addresses: { type: string; address: string }[]): {
  dns: string[];
  ips: string[];
} {
  const values = [...new Set(addresses.map((a) => a.address).filter(Boolean))];
  return { dns: values.filter((v) => !isIP(v)), ips: values.filter((v) => isIP(v)) };
}

/** Whether a certificate names exactly these DNS names and IPs. */
function namesExactly(certPem: string, want: { dns: string[]; ips: string[] }): boolean {
  const have = (new X509Certificate(certPem).subjectAltName ?? '').split(', ').filter(Boolean).sort();
  const wanted = [...want.dns.map((d) => `DNS:${d}`), ...want.ips.map((i) => `IP Address:${i}`)].sort();
  return have.length === wanted.length && have.every((n, i) => n === wanted[i]);
}

/**
 * Keeps the node's serving certificate: the saved one while it is valid and names exactly the
 * node's addresses, else a new one asked for at once; renewed like the client certificate.
 * `use` gets each pair to serve with (the saved one straight away).
 */
export function rotateServingCertificate(opts: {
  client: KubeClient;
  dir: string;
  nodeName: string;
  addresses: { type: string; address: string }[];
  use(pair: KeyPair): void;
}): CertificateRotation {
  const sans = addressSans(opts.addresses);
  const saved = readPair(opts.dir, 'serving');
  const current = saved && validNow(saved.cert) && namesExactly(saved.cert, sans) ? saved : undefined;
  if (current) opts.use(current);
  return new CertificateRotation({
    name: 'serving',
    ...(current ? { current } : {}),
    renew: (key) =>
      requestCertificate(opts.client, {
        request: makeRequest(key, `system:node:${opts.nodeName}`, ['system:nodes'], sans),
        signerName: kubeletServing,
        usages: servingUsages,
      }),
    rotated: (pair) => {
      writePair(opts.dir, 'serving', pair);
      opts.use(pair);
    },
  }).start();
}
