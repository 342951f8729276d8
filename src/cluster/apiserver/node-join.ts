/**
 * How a node joins (k3s's model, with a Berth-only endpoint in place of a CSR): the server
 * writes DATA/node-token as `K10<sha256 of the CA>::server:<secret>`. An agent given that
 * token fetches `/cacerts` (unauthenticated), checks the CA against the hash (so the token
 * pins the server), then posts its node name and public key to `/berth/v1/node-join` with the
 * secret as bearer token; the server answers with a client certificate for
 * `system:node:NAME` in group `system:nodes` and a serving certificate for the node's own
 * endpoint. Each node so has its own identity; the shared secret only ever joins.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../../core/atomic-file.js';
import { type ClusterCredentials, signClientCertificate, signServingCertificate } from './tls.js';

export const joinPath = '/berth/v1/node-join';
export const caPath = '/cacerts';

/** The k3s-format join token for a CA and secret. */
export function joinToken(caCert: string, secret: string): string {
  return `K10${createHash('sha256').update(caCert).digest('hex')}::server:${secret}`;
}

/** Writes DATA/node-token (0600) for agents to join with. */
export function writeJoinToken(dataDir: string, creds: ClusterCredentials): string {
  const path = join(dataDir, 'node-token');
  writeFileAtomicSync(path, `${joinToken(creds.caCert, creds.nodeToken)}\n`, { mode: 0o600 });
  return path;
}

const nodeName = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function reply(res: ServerResponse, code: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': String(data.length) });
  res.end(data);
}

const failure = (code: number, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message,
  reason: code === 401 ? 'Unauthorized' : 'BadRequest',
  code,
});

/**
 * Serves `/cacerts` and the join endpoint; returns false for any other path (the API's).
 * `same` compares the bearer secret in constant time.
 */
export function nodeJoinHandler(
  creds: ClusterCredentials,
  same: (a: string, b: string) => boolean,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === caPath && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(creds.caCert);
      return true;
    }
    if (path !== joinPath) return false;
    const auth = req.headers.authorization ?? '';
    if (req.method !== 'POST' || !auth.startsWith('Bearer ') || !same(auth.slice(7), creds.nodeToken)) {
      req.resume();
      reply(res, 401, failure(401, "Unauthorized: a node joins with the server's node token"));
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 64 * 1024) chunks.push(c);
    });
    req.on('end', () => {
      let body: { nodeName?: string; publicKey?: string; addresses?: string[] };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        reply(res, 400, failure(400, 'The join request is not JSON'));
        return;
      }
      const name = body.nodeName ?? '';
      if (!nodeName.test(name)) {
        reply(res, 400, failure(400, `Invalid node name "${name}": a DNS subdomain (lower case) is needed`));
        return;
      }
      if (!body.publicKey?.includes('PUBLIC KEY')) {
        reply(res, 400, failure(400, 'The join request has no PEM public key'));
        return;
      }
      try {
        const ips = (body.addresses ?? []).filter((a) => /^[0-9.]+$|:/.test(a));
        reply(res, 200, {
          ca: creds.caCert,
          clientCert: signClientCertificate(creds, `system:node:${name}`, 'system:nodes', body.publicKey),
          servingCert: signServingCertificate(
            creds,
            `system:node:${name}`,
            { dns: [name, 'localhost'], ips: [...new Set(['127.0.0.1', ...ips])] },
            body.publicKey,
          ),
        });
      } catch (e) {
        reply(
          res,
          400,
          failure(400, `The join request's public key cannot be used: ${(e as Error).message}`),
        );
      }
    });
    return true;
  };
}
