/**
 * `pods/NAME/exec`, `pods/NAME/attach` and `pods/NAME/portforward`: after the request was
 * authenticated and authorized (`create` for kubectl's SPDY POST, `get` for its WebSocket
 * GET, as Kubernetes 1.32 checks them), the API server makes the same upgrade request to the
 * agent of the pod's node (the kubelet's /exec, /attach and /portForward paths) and, once the
 * agent switched protocols, passes bytes through both ways without reading them: WebSocket
 * and SPDY alike are the agent's to speak. An agent that refuses the upgrade is answered as
 * a Status, so kubectl sees the reason (and may fall back from WebSocket to SPDY).
 */
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { KubeObject } from '../api/selectors.js';
import { ApiError } from '../api/status.js';
import {
  agentTarget,
  agentUnreachable,
  containerPath,
  type PodProxy,
  rejectWithAgentError,
  requestedContainer,
} from './pod-proxy.js';

export type StreamKind = 'exec' | 'attach' | 'portforward';

/** The request headers that make the upgrade (everything else stays between kubectl and us). */
const upgradeHeaders = new Set([
  'upgrade',
  'connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'x-stream-protocol-version',
]);

/** The options of a session the agent needs, from kubectl's query. */
const sessionParams = ['stdin', 'stdout', 'stderr', 'tty'];

function agentPath(kind: StreamKind, pod: KubeObject, q: URLSearchParams): string {
  const ns = encodeURIComponent(pod.metadata?.namespace as string);
  const name = encodeURIComponent(pod.metadata?.name as string);
  if (kind === 'portforward') return `/portForward/${ns}/${name}`;
  const params = new URLSearchParams();
  for (const c of q.getAll('command')) params.append('command', c);
  for (const k of sessionParams) if (q.get(k)) params.set(k, q.get(k) as string);
  return `${containerPath(kind, pod, requestedContainer(pod, q))}?${params}`;
}

/** Pipes two upgraded connections into each other until either ends. */
function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const done = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', done);
  b.on('error', done);
  a.on('close', done);
  b.on('close', done);
}

/** `pods/NAME/exec`, `attach` or `portforward` (`kind`), spliced to the agent's upgraded connection. */
export function podStreamProxy(agent: https.Agent, kind: StreamKind): PodProxy {
  return async (pod, node, q, req, _res) => {
    if (!req.headers.upgrade)
      throw new ApiError(
        400,
        'BadRequest',
        `Upgrade request required: ${kind} needs a WebSocket or SPDY/3.1 upgrade`,
      );
    const target = agentTarget(pod, node, agent, agentPath(kind, pod, q));
    const headers: [string, string][] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const k = req.rawHeaders[i] as string;
      if (upgradeHeaders.has(k.toLowerCase())) headers.push([k, req.rawHeaders[i + 1] as string]);
    }
    await new Promise<void>((resolve, reject) => {
      const up = https.request({
        ...target,
        method: req.method ?? 'GET',
        // Repeated headers (X-Stream-Protocol-Version is sent once per version) stay repeated.
        // No body: without a length Node would send kubectl's POST chunked, and the closing
        // chunk would reach the agent as the first bytes of the upgraded stream.
        headers: [...headers.flat(), 'Content-Length', '0'],
      });
      up.on('upgrade', (upRes, upSocket, upHead) => {
        const client = req.socket;
        let head = `HTTP/1.1 101 ${upRes.statusMessage || 'Switching Protocols'}\r\n`;
        for (let i = 0; i < upRes.rawHeaders.length; i += 2)
          head += `${upRes.rawHeaders[i]}: ${upRes.rawHeaders[i + 1]}\r\n`;
        client.write(`${head}\r\n`);
        if (upHead.length) client.write(upHead);
        splice(client, upSocket);
        resolve();
      });
      up.on('response', (upRes) => rejectWithAgentError(upRes, reject));
      up.on('error', (e) => reject(agentUnreachable(node, e)));
      up.end();
    });
  };
}
