/**
 * `pods/NAME/proxy/PATH` and `services/NAME/proxy/PATH` (what `kubectl proxy`, `kubectl
 * get --raw` and the URLs `kubectl cluster-info` prints use): the API server forwards the
 * request to the pod, or to one ready endpoint of the service, and streams the answer back.
 * NAME may carry a scheme and a port as upstream reads them: `[https:]name[:port]`, the port
 * by number or by name (a service's port name, or a pod's container port name).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { endToEnd, hopByHopHeaders } from '../../core/hop-by-hop.js';
import { arr, obj } from '../api/field-values.js';
import type { KubeObject } from '../api/selectors.js';
import { ApiError } from '../api/status.js';

/** Where a proxied request goes. */
export interface ProxyTarget {
  scheme: 'http' | 'https';
  host: string;
  port: number;
}

/** `[scheme:]name[:port]` split as upstream's SplitSchemeNamePort does. */
export function splitSchemeNamePort(id: string): { scheme: string; name: string; port: string } {
  const parts = id.split(':');
  if (parts.length === 1) return { scheme: '', name: id, port: '' };
  if (parts.length === 2) return { scheme: '', name: parts[0] ?? '', port: parts[1] ?? '' };
  if (parts.length === 3) return { scheme: parts[0] ?? '', name: parts[1] ?? '', port: parts[2] ?? '' };
  throw new ApiError(400, 'BadRequest', `invalid service request "${id}"`);
}

const schemeOf = (s: string): 'http' | 'https' => (s === 'https' ? 'https' : 'http');

/** The pod's address and port (a number, or the name of one of its container ports; 80 by default). */
export function podTarget(pod: KubeObject, scheme: string, port: string): ProxyTarget {
  const ip = obj(pod.status).podIP;
  if (typeof ip !== 'string' || !ip)
    throw new ApiError(
      503,
      'ServiceUnavailable',
      `address not allocated yet for pod "${pod.metadata?.name}"`,
    );
  let n = port ? Number(port) : 80;
  if (port && !/^\d+$/.test(port)) {
    const named = arr(obj(pod.spec).containers)
      .flatMap((c) => arr(c.ports))
      .find((p) => p.name === port);
    if (!named)
      throw new ApiError(
        400,
        'BadRequest',
        `no container port named "${port}" in pod "${pod.metadata?.name}"`,
      );
    n = Number(named.containerPort);
  }
  return { scheme: schemeOf(scheme), host: ip, port: n };
}

/**
 * One ready endpoint of the service's port (by name or number; its only port when none is
 * given), from its Endpoints object; 503 when it has none, as upstream answers.
 */
export function serviceTarget(
  svc: KubeObject,
  eps: KubeObject | undefined,
  scheme: string,
  port: string,
): ProxyTarget {
  const name = svc.metadata?.name ?? '';
  const ports = arr(obj(svc.spec).ports);
  const svcPort = port
    ? ports.find((p) => p.name === port || String(p.port) === port)
    : ports.length === 1
      ? ports[0]
      : undefined;
  if (!svcPort) throw new ApiError(503, 'ServiceUnavailable', `no endpoints available for service "${name}"`);
  const portName = String(svcPort.name ?? '');
  for (const ss of arr(obj(eps).subsets)) {
    const epPort = arr(ss.ports).find((p) => String(p.name ?? '') === portName);
    const address = arr(ss.addresses)[0];
    if (epPort && address)
      return { scheme: schemeOf(scheme), host: String(address.ip), port: Number(epPort.port) };
  }
  throw new ApiError(503, 'ServiceUnavailable', `no endpoints available for service "${name}"`);
}

/**
 * Hop-by-hop headers (and those Connection names) and what only the API server should see are
 * not forwarded, either way.
 */
const dropped = new Set([...hopByHopHeaders, 'authorization', 'host']);

/**
 * Forwards `req` to `target` at `path?query` and streams the answer to `res`. A target that
 * cannot be reached rejects with upstream's 503, which the handler writes as a Status (or,
 * once the answer's headers went out, ends the response with).
 */
export function forward(
  target: ProxyTarget,
  path: string,
  query: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const headers = endToEnd(req.headers, dropped);
  const lib = target.scheme === 'https' ? https : http;
  return new Promise((resolve, reject) => {
    const out = lib.request(
      {
        host: target.host,
        port: target.port,
        method: req.method,
        path: `${path}${query}`,
        headers,
        // Upstream's proxy does not verify what a pod serves: its certificate names no address.
        ...(target.scheme === 'https' ? { rejectUnauthorized: false } : {}),
      },
      (answer) => {
        const back = endToEnd(answer.headers, dropped);
        res.writeHead(answer.statusCode ?? 502, back);
        answer.pipe(res);
        answer.on('end', () => resolve());
        answer.on('error', () => {
          res.destroy();
          resolve();
        });
      },
    );
    out.on('error', (e) =>
      reject(new ApiError(503, 'ServiceUnavailable', `error trying to reach service: ${e.message}`)),
    );
    req.pipe(out);
  });
}
