/**
 * The agent's side of joining (see apiserver/node-join.ts), as a kubelet bootstraps: check
 * the server's CA against the token's hash, then with the join secret as bearer token create
 * a CertificateSigningRequest for `system:node:NAME` in `system:nodes` (signer
 * kubernetes.io/kube-apiserver-client-kubelet, approved by the csrapproving controller for
 * holders of the token) and wait for its certificate. The key is made here and never leaves;
 * the credentials are kept in the agent's data dir (DATA_DIR/agent for the embedded one) so a
 * restart reuses them. The serving certificate, and renewing both, come later, as the node
 * (node-certificates.ts).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../../core/atomic-file.js';
import { BerthError, invalidArgument } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { requestCertificate } from '../certificates/request.js';
import { kubeletClient, makeRequest } from '../certificates/signers.js';
import { KubeClient } from '../client/kube-client.js';
import { newKey } from './cert-rotation.js';
import { type KeyPair, readPair, validNow, writePair } from './node-certificates.js';

const log = logger('agent');

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

/** What joining gives a node: the cluster CA and its client certificate with its key. */
export interface NodeCredentials {
  ca: string;
  client: KeyPair;
}

/**
 * Joins, or reuses the credentials of an earlier join while the CA is the token's and the
 * client certificate names this node and has not expired (a running agent renews it before
 * then; one that was down past its end joins again with the token).
 */
export async function joinCluster(opts: {
  server: string;
  token: JoinToken;
  nodeName: string;
  dataDir: string;
}): Promise<NodeCredentials> {
  const dir = opts.dataDir;
  const caFile = join(dir, 'ca.crt');
  const subject = `system:node:${opts.nodeName}`;
  const saved = readPair(dir, 'client');
  if (saved && existsSync(caFile)) {
    const ca = readFileSync(caFile, 'utf8');
    let mine = false;
    try {
      const cert = new X509Certificate(saved.cert);
      mine = cert.subject.split('\n').includes(`CN=${subject}`) && validNow(saved.cert);
    } catch (e) {
      log.warn('the saved client certificate cannot be read; joining again', { dir, err: e as Error });
    }
    if (mine && createHash('sha256').update(ca).digest('hex') === opts.token.caHash)
      return { ca, client: saved };
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
  const key = newKey();
  // As the bootstrap token: a client certificate for the node's own identity.
  const bootstrap = new KubeClient({ server: base, ca, token: opts.token.secret });
  let cert: string;
  try {
    cert = await requestCertificate(bootstrap, {
      request: makeRequest(key, subject, ['system:nodes']),
      signerName: kubeletClient,
      usages: ['digital signature', 'key encipherment', 'client auth'],
    });
  } finally {
    bootstrap.close();
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomicSync(caFile, ca, { mode: 0o600 });
  writePair(dir, 'client', { cert, key });
  return { ca, client: { cert, key } };
}

/** A client of the API that authenticates as the node. */
export function nodeClient(server: string, creds: NodeCredentials): KubeClient {
  return new KubeClient({ server, ca: creds.ca, cert: creds.client.cert, key: creds.client.key });
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
