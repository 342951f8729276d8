/**
 * The agent's side of joining (see apiserver/node-join.ts), as a kubelet bootstraps: check
 * the server's CA against the token's hash, then with the join secret as bearer token create
 * a CertificateSigningRequest for `system:node:NAME` in `system:nodes` (signer
 * kubernetes.io/kube-apiserver-client-kubelet, approved by the csrapproving controller for
 * holders of the token) and wait for its certificate; then, as the node, one for its serving
 * certificate (kubernetes.io/kubelet-serving, its name and addresses as SANs). The key is made
 * here and never leaves; the credentials are kept in the agent's data dir (DATA_DIR/agent for
 * the embedded one) so a restart reuses them. Returns a client that speaks as the node.
 */
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../../core/atomic-file.js';
import { BerthError, invalidArgument } from '../../core/errors.js';
import { requestCertificate } from '../certificates/request.js';
import { kubeletClient, kubeletServing, makeRequest } from '../certificates/signers.js';
import { KubeClient } from '../client/kube-client.js';

export interface JoinToken {
  caHash: string;
  secret: string;
}

/** Reads a k3s-format token: `K10<sha256 of the CA>::server:<secret>`. */
export function parseJoinToken(text: string): JoinToken {
  const m = /^K10([0-9a-f]{64})::server:(\S+)$/.exec(text.trim());
  if (!m)
    throw invalidArgument(
      'Invalid node token: expected K10<sha256 of the CA>::server:<secret>, as the server writes to DATA_DIR/node-token',
    );
  return { caHash: m[1]!, secret: m[2]! };
}

/** Fetches the server's CA, unverified: the caller checks it against the token's hash. */
function fetchCa(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'GET', rejectUnauthorized: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (e) =>
      reject(new BerthError('Unavailable', `Cannot reach the server at ${url}: ${e.message}`)),
    );
    req.end();
  });
}

export interface NodeCredentials {
  ca: string;
  key: string;
  clientCert: string;
  servingCert: string;
}

/** Joins (or reuses the credentials of an earlier join) and returns the node's credentials. */
export async function joinCluster(opts: {
  server: string;
  token: JoinToken;
  nodeName: string;
  nodeIP: string;
  dataDir: string;
}): Promise<NodeCredentials> {
  const dir = opts.dataDir;
  const files = { ca: 'ca.crt', key: 'node.key', clientCert: 'client.crt', servingCert: 'serving.crt' };
  const path = (n: string) => join(dir, n);
  if (Object.values(files).every((n) => existsSync(path(n)))) {
    const kept = Object.fromEntries(
      Object.entries(files).map(([k, n]) => [k, readFileSync(path(n), 'utf8')]),
    ) as unknown as NodeCredentials;
    const cert = new X509Certificate(kept.clientCert);
    const hash = createHash('sha256').update(kept.ca).digest('hex');
    if (
      hash === opts.token.caHash &&
      cert.subject.includes(`CN=system:node:${opts.nodeName}`) &&
      Date.parse(cert.validTo) > Date.now() + 86_400_000
    )
      return kept;
  }
  const base = opts.server.replace(/\/$/, '');
  const caAnswer = await fetchCa(`${base}/cacerts`);
  if (caAnswer.status !== 200)
    throw new BerthError(
      'Unavailable',
      `The server at ${base} did not hand out its CA (HTTP ${caAnswer.status})`,
    );
  const ca = caAnswer.text;
  if (createHash('sha256').update(ca).digest('hex') !== opts.token.caHash)
    throw new BerthError(
      'PermissionDenied',
      `The server at ${base} is not the one the token names: its CA does not match the token's hash`,
    );
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const subject = `system:node:${opts.nodeName}`;
  // First as the bootstrap token: a client certificate for the node's own identity...
  const bootstrap = new KubeClient({ server: base, ca, token: opts.token.secret });
  let clientCert: string;
  try {
    clientCert = await requestCertificate(bootstrap, {
      request: makeRequest(key, subject, ['system:nodes']),
      signerName: kubeletClient,
      usages: ['digital signature', 'key encipherment', 'client auth'],
    });
  } finally {
    bootstrap.close();
  }
  // ...then as the node: a serving certificate for its endpoint, naming its addresses.
  const asNode = new KubeClient({ server: base, ca, cert: clientCert, key });
  let servingCert: string;
  try {
    servingCert = await requestCertificate(asNode, {
      request: makeRequest(key, subject, ['system:nodes'], {
        dns: [opts.nodeName, 'localhost'],
        ips: [...new Set([opts.nodeIP, '127.0.0.1'])],
      }),
      signerName: kubeletServing,
      usages: ['digital signature', 'key encipherment', 'server auth'],
    });
  } finally {
    asNode.close();
  }
  const creds: NodeCredentials = { ca, key, clientCert, servingCert };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [k, n] of Object.entries(files))
    writeFileAtomicSync(path(n), creds[k as keyof NodeCredentials], { mode: 0o600 });
  return creds;
}

/** A client of the API that authenticates as the node. */
export function nodeClient(server: string, creds: NodeCredentials): KubeClient {
  return new KubeClient({ server, ca: creds.ca, cert: creds.clientCert, key: creds.key });
}

/** Reads a token file, with an error naming the file. */
export function readTokenFile(path: string): JoinToken {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw invalidArgument(`Cannot read the token file ${path}: ${(e as Error).message}`);
  }
  return parseJoinToken(text);
}
