/**
 * How a node finds the server it joins (k3s's model): the server writes DATA/node-token as
 * `K10<sha256 of the CA>::server:<secret>` and serves its CA at `/cacerts` without
 * authentication, so an agent given the token can check that it talks to the right server
 * before it trusts it. The rest of joining is Kubernetes' own: the secret is a bootstrap
 * token (system:bootstrappers) that may only create CertificateSigningRequests and read them
 * (agent/join.ts), and the csrapproving and csrsigning controllers give the node its
 * certificate. `/cacerts` stays because no API call can hand out the CA before the client
 * trusts it.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../../core/atomic-file.js';
import type { ClusterCredentials } from './tls.js';

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

/** Serves `/cacerts`; returns false for any other request (the API's). */
export function caCertsHandler(
  creds: Pick<ClusterCredentials, 'caCert'>,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== caPath || req.method !== 'GET') return false;
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(creds.caCert);
    return true;
  };
}
