/**
 * The Docker Engine API socket: an HTTP server on a unix socket in front of one open
 * engine. Requests are routed by a table (router.ts) to thin handlers over the engine
 * facade; errors become Docker's JSON bodies in one place (errors.ts).
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import { errorMessage, invalidArgument, notFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import type { Engine } from '../engine.js';
import { buildRoutes } from './build.js';
import { containerFileRoutes } from './container-files.js';
import { containerOpRoutes } from './container-ops.js';
import { containerStreamRoutes } from './container-streams.js';
import { containerRoutes } from './containers.js';
import { httpStatus, sendError } from './errors.js';
import { execRoutes } from './exec.js';
import { imageRoutes } from './images.js';
import { networkVolumeRoutes } from './networks-volumes.js';
import { type Call, Router } from './router.js';
import { Sessions } from './sessions.js';
import { PING_HEADERS, systemRoutes } from './system.js';
import { splitVersion } from './version.js';

const log = logger('dockerapi');

/** The default socket, as Podman's and Docker's are in /run. */
export const DEFAULT_URI = 'unix:///run/berth/docker.sock';

/** The PEM texts that secure a TCP listener: its own key and certificate, and the CA its clients' certificates must come from. */
export interface TlsFiles {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** Options of {@link serveDockerApi}. */
export interface ServeOptions {
  /** `unix:///path` (default {@link DEFAULT_URI}) or `tcp://HOST:PORT` with {@link tls}. */
  uri?: string;
  /** Required for `tcp://`: the service then asks every client for a certificate from `tls.ca`. */
  tls?: TlsFiles;
  /** Seconds without a request or open stream after which the service ends; 0 (default) never. */
  idleSeconds?: number;
  /** Berth's version, for `/version` and `/info`. */
  version: string;
  /** Ends the service. */
  signal?: AbortSignal;
  /** Called once the service accepts connections, with its address (a TCP port 0 resolved). */
  onListening?: (uri: string) => void;
}

/** Where the service listens: a unix socket, or a TCP address (only ever with TLS). */
export type ListenAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/**
 * The address of `uri`. Plain TCP is refused: anyone who reaches the port would be root on
 * this machine, so a TCP listener needs TLS with client certificates (`withTls`).
 */
export function listenAddress(uri: string, withTls: boolean): ListenAddress {
  if (uri.startsWith('unix://')) {
    const path = uri.slice('unix://'.length);
    if (!path.startsWith('/'))
      throw invalidArgument(`Invalid socket URI "${uri}": use unix:///ABSOLUTE/PATH`);
    if (withTls) throw invalidArgument(`TLS applies to tcp:// addresses, not to the unix socket "${uri}"`);
    return { kind: 'unix', path };
  }
  if (uri.startsWith('tcp://')) {
    if (!withTls)
      throw invalidArgument(
        `Refusing to serve the Docker API on "${uri}" without TLS: anyone who reaches it is root on this machine; give --tlsverify with --tlscacert, --tlscert and --tlskey, or use a unix socket`,
      );
    const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]]+):(\d{1,5})\/?$/.exec(uri);
    const port = Number(m?.[2]);
    if (!m || port > 65535) throw invalidArgument(`Invalid TCP address "${uri}": use tcp://HOST:PORT`);
    return { kind: 'tcp', host: m[1]!.replace(/^\[|\]$/g, ''), port };
  }
  throw invalidArgument(`Unsupported socket URI "${uri}": use unix:///PATH or tcp://HOST:PORT`);
}

/** The gid of group `berth`, if this machine has one. */
function berthGid(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/etc/group', 'utf8');
  } catch (e) {
    log.debug('cannot read /etc/group', { err: e as Error });
    return undefined;
  }
  const line = text.split('\n').find((l) => l.startsWith('berth:'));
  const gid = line ? Number(line.split(':')[2]) : Number.NaN;
  return Number.isInteger(gid) ? gid : undefined;
}

/** Builds the route table over `engine`. */
export function dockerApiRouter(engine: Engine, version: string): Router {
  const api = { engine, sessions: new Sessions() };
  const r = new Router();
  systemRoutes(r, api, version);
  containerRoutes(r, api);
  containerStreamRoutes(r, api);
  containerOpRoutes(r, api);
  containerFileRoutes(r, api);
  execRoutes(r, api);
  imageRoutes(r, api);
  buildRoutes(r, api);
  networkVolumeRoutes(r, api);
  return r;
}

/**
 * Serves the Docker API until `signal` aborts or the service has been idle for
 * `idleSeconds`; resolves once the socket is closed and removed.
 */
export async function serveDockerApi(engine: Engine, o: ServeOptions): Promise<void> {
  const address = listenAddress(o.uri ?? DEFAULT_URI, !!o.tls);
  const router = dockerApiRouter(engine, o.version);
  let active = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  const stopped = new AbortController();
  const stop = () => stopped.abort();
  const idle = (delta: number) => {
    active += delta;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
    if (active === 0 && o.idleSeconds) idleTimer = setTimeout(stop, o.idleSeconds * 1000);
  };

  const dispatch = async (
    req: IncomingMessage,
    call: Omit<Call, 'params' | 'query' | 'version' | 'signal'>,
  ) => {
    const gone = new AbortController();
    const sock = call.upgrade?.socket ?? req.socket;
    const onClose = () => gone.abort();
    sock.once('close', onClose);
    call.res?.once('close', onClose);
    idle(+1);
    try {
      const url = new URL(req.url ?? '/', 'http://docker');
      const { version, path: p } = splitVersion(url.pathname);
      const found = router.match(req.method ?? 'GET', p);
      if ('error' in found)
        throw found.error === 'method'
          ? invalidArgument(`Method ${req.method} is not allowed on ${p}`)
          : notFound(`page not found: ${req.method} ${p} is not an endpoint of this Docker API`);
      await found.handler({
        ...call,
        params: found.params,
        query: url.searchParams,
        version,
        signal: gone.signal,
      });
    } catch (e) {
      if (call.res) sendError(call.res, e);
      else if (!call.upgrade?.hijacked) {
        const msg = JSON.stringify({ message: errorMessage(e) });
        const status = httpStatus(e);
        call.upgrade?.socket.end(
          `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(msg)}\r\n\r\n${msg}`,
        );
      } else log.debug('hijacked request failed', { err: e as Error });
    } finally {
      sock.off('close', onClose);
      idle(-1);
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    // Docker's clients read the API version from any answer, not only /_ping's.
    res.setHeader('Api-Version', PING_HEADERS['API-Version']);
    res.setHeader('Server', `Berth/${o.version} (linux)`);
    void dispatch(req, { req, res });
  };
  // Over TCP every client must show a certificate signed by the given CA (dockerd's --tlsverify).
  const server = o.tls
    ? createTlsServer(
        {
          ...o.tls,
          requestCert: true,
          rejectUnauthorized: true,
          minVersion: 'TLSv1.2',
          // A hijacked stream stays open one way after the client closes its side (the CLI
          // does at once when it has no input), as it does on the unix socket.
          allowHalfOpen: true,
        },
        onRequest,
      )
    : createServer(onRequest);
  server.on('tlsClientError', (e: Error) => log.debug('TLS handshake refused', { err: e }));
  // Hijacked connections leave the server's books: they are tracked here to end with it.
  const hijacked = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    hijacked.add(socket);
    socket.once('close', () => hijacked.delete(socket));
    void dispatch(req, { req, upgrade: { socket, head } });
  });
  // Streams (logs -f, attach, wait) stay open for as long as the client wants.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;

  o.onListening?.(await listen(server, address));
  idle(0);

  const ended = AbortSignal.any([stopped.signal, ...(o.signal ? [o.signal] : [])]);
  await new Promise<void>((resolve) => {
    if (ended.aborted) resolve();
    ended.addEventListener('abort', () => resolve(), { once: true });
  });
  if (idleTimer) clearTimeout(idleTimer);
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
    for (const s of hijacked) s.destroy();
  });
  if (address.kind === 'unix') rmSync(address.path, { force: true });
}

/** Listens on `address`; resolves with the URI clients use (a TCP port 0 resolved). */
async function listen(server: NetServer, address: ListenAddress): Promise<string> {
  const listening = (listenOn: (done: () => void) => void) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      listenOn(() => {
        server.off('error', reject);
        resolve();
      });
    });
  if (address.kind === 'tcp') {
    await listening((done) => server.listen(address.port, address.host, done));
    const a = server.address() as AddressInfo;
    return `tcp://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }
  const path = address.path;
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  rmStaleSocket(path);
  await listening((done) => server.listen(path, done));
  chmodSync(path, 0o660);
  const gid = berthGid();
  if (gid !== undefined) chownSync(path, 0, gid);
  return `unix://${path}`;
}

/** Removes a socket left by a service that died; anything else at the path is an error. */
function rmStaleSocket(path: string): void {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket()) throw invalidArgument(`Cannot listen on ${path}: it exists and is not a socket`);
  rmSync(path);
}
