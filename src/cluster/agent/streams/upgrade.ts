/**
 * The streaming half of the agent endpoint (the kubelet's /exec, /attach and /portForward),
 * reached by upgraded connections the API server passes through unchanged:
 * - `/exec/NS/POD/CONTAINER?command=..&stdin=&stdout=&stderr=&tty=` and `/attach/...`
 *   over WebSocket with the channel protocol (channel-session.ts), or over SPDY/3.1;
 * - `/portForward/NS/POD` over WebSocket carrying SPDY (`SPDY/3.1+portforward.k8s.io`,
 *   kubectl 1.32's default) or over a SPDY/3.1 upgrade (its fallback).
 * Exec and attach are also served over a SPDY/3.1 upgrade (spdy-channels.ts), which
 * client-go's SPDY executor and kubectl's fallback use.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { logger } from '../../../core/log.js';
import { attemptsByName } from '../pod-status.js';
import type { ContainerStatus, PodRuntime } from '../runtime.js';
import { type ChannelSession, channelProtocols, channelSession } from './channel-session.js';
import { portForwardProtocol, servePortForward } from './port-forward.js';
import { SpdySession } from './spdy.js';
import { spdyChannelProtocols, spdyChannelSession } from './spdy-channels.js';

const log = logger('agent');

const spdyTunnelProtocol = `SPDY/3.1+${portForwardProtocol}`;

/** How long a TTY session waits for the client's first terminal size before it starts. */
const firstSizeWaitMs = 1000;

class StreamError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Answers an upgrade request with a plain HTTP error and closes the connection. */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const reason =
    {
      400: 'Bad Request',
      403: 'Forbidden',
      404: 'Not Found',
      500: 'Internal Server Error',
      503: 'Service Unavailable',
    }[status] ?? 'Error';
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

const flag = (q: URLSearchParams, k: string) => ['true', '1'].includes(q.get(k) ?? '');

async function runningContainer(
  runtime: PodRuntime,
  ns: string,
  pod: string,
  container: string,
): Promise<ContainerStatus> {
  const mine = (await runtime.listContainers()).filter((c) => c.pod.namespace === ns && c.pod.name === pod);
  const latest = attemptsByName(mine).get(container)?.latest;
  if (!latest) throw new StreamError(404, `container "${container}" in pod "${pod}" is not available`);
  if (latest.state !== 'running')
    throw new StreamError(400, `container "${container}" in pod "${pod}" is not running`);
  return latest;
}

const isSpdy = (req: IncomingMessage) => (req.headers.upgrade ?? '').toLowerCase() === 'spdy/3.1';

/** Switches the connection to SPDY/3.1 with `protocol` and starts the session. */
function spdyUpgrade(socket: Duplex, head: Buffer, protocol: string): SpdySession {
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
      `X-Stream-Protocol-Version: ${protocol}\r\n\r\n`,
  );
  if (head.length) socket.unshift(head);
  return new SpdySession(socket);
}

/** An exec or attach to run once its session is connected. */
interface SessionJob {
  kind: 'exec' | 'attach';
  runtime: PodRuntime;
  containerId: string;
  command: string[];
  tty: boolean;
  /** The pod, for the log. */
  what: string;
}

/** Runs an exec or attach on a connected session and ends it with the outcome. */
async function runSession(job: SessionJob, session: ChannelSession): Promise<void> {
  try {
    // kubectl sends the terminal's size as soon as it connects: starting with it spares the
    // process a resize (and a wrong size in what it prints first).
    const size = job.tty
      ? await Promise.race([
          session.firstSize,
          new Promise<undefined>((r) => setTimeout(() => r(undefined), firstSizeWaitMs).unref()),
        ])
      : undefined;
    const io = { ...session.streams, ...(size ? { initialSize: size } : {}) };
    if (job.kind === 'exec') {
      const exitCode = await job.runtime.exec!(job.containerId, job.command, io).catch(
        (e: Error & { exitCode?: unknown }) => {
          // A command that cannot start (not found, not executable) ends as the runtime says,
          // 127 or 126, with its reason on the output, as with the kubelet.
          if (typeof e.exitCode !== 'number') throw e;
          (io.stderr ?? io.stdout)?.write(`${e.message}\n`);
          return e.exitCode;
        },
      );
      await session.finish({ exitCode }, job.command);
    } else {
      await job.runtime.attach!(job.containerId, io);
      await session.finish({ exitCode: 0 });
    }
  } catch (e) {
    log.debug(`${job.kind} failed`, { pod: job.what, err: e as Error });
    await session.finish({ error: (e as Error).message });
  }
}

/** The upgrade handler of the agent endpoint; `runtime` is read per request (it may come later). */
export function streamUpgradeHandler(
  runtime: () => PodRuntime | undefined,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => {
      for (const p of channelProtocols) if (offered.has(p)) return p;
      return false;
    },
  });
  // `SPDY/3.1+portforward.k8s.io` is not a valid token for ws ('/' is a separator), so the
  // tunnel's protocol is taken off the request before the handshake and put back on the reply.
  const tunnels = new WeakSet<IncomingMessage>();
  wss.on('headers', (headers, req) => {
    if (tunnels.has(req)) headers.push(`Sec-WebSocket-Protocol: ${spdyTunnelProtocol}`);
  });
  return (req, socket, head) => {
    void serve(req, socket, head).catch((e) => {
      const status = e instanceof StreamError ? e.status : 500;
      if (status === 500) log.warn('stream request failed', { url: req.url, err: e as Error });
      if (socket.writable) refuseUpgrade(socket, status, (e as Error).message);
    });
  };

  async function serve(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://x');
    const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
    const [kind, ns, pod, container] = parts;
    const rt = runtime();
    if (!rt) throw new StreamError(503, 'This node runs no containers');
    const isWebSocket = (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
    if ((kind === 'exec' || kind === 'attach') && ns && pod && container && parts.length === 4) {
      if (!(kind === 'exec' ? rt.exec : rt.attach))
        throw new StreamError(503, `This node's runtime cannot ${kind}`);
      const q = url.searchParams;
      const command = q.getAll('command');
      if (kind === 'exec' && command.length === 0)
        throw new StreamError(400, 'you must specify at least 1 command');
      const target = await runningContainer(rt, ns, pod, container);
      const opts = {
        stdin: flag(q, 'stdin'),
        stdout: flag(q, 'stdout'),
        stderr: flag(q, 'stderr'),
        tty: flag(q, 'tty'),
      };
      const job: SessionJob = {
        kind,
        runtime: rt,
        containerId: target.id,
        command,
        tty: opts.tty,
        what: `${ns}/${pod}`,
      };
      if (isWebSocket) {
        wss.handleUpgrade(req, socket, head, (ws) => {
          if (!ws.protocol) {
            ws.close(1002, 'a channel protocol (v5.channel.k8s.io) is required');
            return;
          }
          void runSession(job, channelSession(ws, opts));
        });
        return;
      }
      const offered = String(req.headers['x-stream-protocol-version'] ?? '')
        .split(',')
        .map((p) => p.trim());
      const protocol = offered.find((p) => (spdyChannelProtocols as readonly string[]).includes(p));
      if (!isSpdy(req) || !protocol)
        throw new StreamError(
          400,
          `${kind} needs a WebSocket or SPDY/3.1 upgrade with ${spdyChannelProtocols.join(' or ')}`,
        );
      const session = spdyUpgrade(socket, head, protocol);
      spdyChannelSession(session, opts).then(
        (s) => runSession(job, s),
        (e) => log.debug(`${kind} did not start`, { pod: job.what, err: e as Error }),
      );
      return;
    }
    if (kind === 'portForward' && ns && pod && parts.length === 3) {
      const forward = rt.portForward;
      if (!forward) throw new StreamError(503, "This node's runtime cannot forward ports");
      const sandbox = (await rt.listPodSandboxes())
        .filter((s) => s.pod.namespace === ns && s.pod.name === pod && s.state === 'ready')
        .sort((a, b) => b.createdAt - a.createdAt)[0];
      if (!sandbox) throw new StreamError(404, `pod "${pod}" has no running sandbox on this node`);
      const what = `${ns}/${pod}`;
      const dial = (port: number, signal: AbortSignal) => forward.call(rt, sandbox.id, port, signal);
      if (isWebSocket) {
        const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
        if (!offered.includes(spdyTunnelProtocol))
          throw new StreamError(400, `port-forward over WebSocket needs the ${spdyTunnelProtocol} protocol`);
        delete req.headers['sec-websocket-protocol'];
        tunnels.add(req);
        log.debug('port-forward session', { pod: what, over: 'websocket' });
        wss.handleUpgrade(req, socket, head, (ws) => {
          servePortForward(new SpdySession(createWebSocketStream(ws)), dial, what);
        });
        return;
      }
      if (!isSpdy(req)) throw new StreamError(400, 'port-forward needs an upgrade to WebSocket or SPDY/3.1');
      log.debug('port-forward session', { pod: what, over: 'spdy' });
      servePortForward(spdyUpgrade(socket, head, portForwardProtocol), dial, what);
      return;
    }
    throw new StreamError(404, `Not found: ${url.pathname}`);
  }
}
