/**
 * The agent's own HTTPS endpoint (the kubelet's port 10250), which the API server proxies
 * `kubectl logs` to. Authenticated both ways: it serves the node's serving certificate (asked
 * for through a CSR, renewed before it expires), and answers only clients with a certificate
 * of the cluster CA for the API server (`system:kube-apiserver-kubelet-client`) or an admin
 * (`system:masters`).
 * Serves GET /containerLogs/NAMESPACE/POD/CONTAINER with the kubelet's log options, and
 * upgraded connections for exec, attach and port-forward (streams/upgrade.ts).
 */
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { logger } from '../../core/log.js';
import { serverTlsOptions } from '../apiserver/tls.js';
import type { KeyPair } from './node-certificates.js';
import { attemptsByName } from './pod-status.js';
import type { PodRuntime } from './runtime.js';
import { logRequest } from './streams/log-request.js';
import { refuseUpgrade, streamUpgradeHandler } from './streams/upgrade.js';

const log = logger('agent');

export const apiserverClientName = 'system:kube-apiserver-kubelet-client';

function fail(res: import('node:http').ServerResponse, code: number, message: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`${message}\n`);
}

function serveJson(res: import('node:http').ServerResponse, body: () => Promise<unknown>): void {
  body().then(
    (b) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(b));
    },
    (e) => {
      log.warn('stats request failed', { err: e as Error });
      fail(res, 500, (e as Error).message);
    },
  );
}

const forbiddenMessage = 'Forbidden: only the API server may use this endpoint';

/** Whether the client's certificate is the API server's (or an admin's). */
function trustedPeer(socket: TLSSocket): boolean {
  const peer = socket.getPeerCertificate();
  const org = peer?.subject?.O;
  const groups = Array.isArray(org) ? org : org ? [org] : [];
  return peer?.subject?.CN === apiserverClientName || groups.includes('system:masters');
}

/** The TLS settings the endpoint serves with: the node's serving pair; clients of the cluster CA. */
const secureContext = (ca: string, pair: KeyPair) => ({
  ...serverTlsOptions,
  key: pair.key,
  cert: pair.cert,
  ca,
});

/** Serves with a new serving certificate from the next handshake on (a renewed one). */
export function useServingCertificate(server: Server, ca: string, pair: KeyPair): void {
  server.setSecureContext(secureContext(ca, pair));
}

/**
 * Starts the endpoint. Until `useServingCertificate` gives it a certificate, handshakes fail:
 * the node asks for one only once its Node reports the addresses it names.
 */
export async function startEndpoint(opts: {
  /** The cluster CA, which signs the API server's client certificate. */
  ca: string;
  runtime: () => PodRuntime | undefined;
  port: number;
  host?: string;
  /** The node's and pods' resource use (`GET /stats/summary`, the kubelet's Summary API). */
  summary?: () => Promise<unknown>;
}): Promise<Server> {
  const server = createServer(
    {
      ...serverTlsOptions,
      ca: opts.ca,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      if (!trustedPeer(req.socket as TLSSocket)) return fail(res, 403, forbiddenMessage);
      const url = new URL(req.url ?? '/', 'https://x');
      if (req.method === 'GET' && url.pathname === '/stats/summary' && opts.summary)
        return void serveJson(res, opts.summary);
      const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      if (req.method !== 'GET' || !m) return fail(res, 404, `Not found: ${url.pathname}`);
      const [ns, pod, container] = m.slice(1).map(decodeURIComponent) as [string, string, string];
      const runtime = opts.runtime();
      if (!runtime?.logs) return fail(res, 503, 'This node runs no containers with logs');
      void (async () => {
        const mine = (await runtime.listContainers()).filter(
          (c) => c.pod.namespace === ns && c.pod.name === pod,
        );
        const a = attemptsByName(mine).get(container);
        const previous = url.searchParams.get('previous') === 'true';
        const target = previous ? a?.previous : a?.latest;
        if (!target)
          return fail(
            res,
            404,
            previous
              ? `previous terminated container "${container}" in pod "${pod}" not found`
              : `container "${container}" in pod "${pod}" is not available`,
          );
        const abort = new AbortController();
        res.on('close', () => abort.abort());
        const request = logRequest(url.searchParams);
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        await runtime.logs!(target.id, res, { ...request, signal: abort.signal });
        res.end();
      })().catch((e) => {
        log.warn('log request failed', { pod: `${ns}/${pod}`, err: e as Error });
        if (!res.headersSent) fail(res, 500, (e as Error).message);
        else res.end();
      });
    },
  );
  const streams = streamUpgradeHandler(opts.runtime);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!trustedPeer(socket as TLSSocket)) return refuseUpgrade(socket, 403, forbiddenMessage);
    streams(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  return server;
}
