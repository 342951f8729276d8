/**
 * The Ingress proxy's listeners, and its HTTP/2 request path: plain HTTP/1.1 on one port, TLS
 * on the other with the certificate chosen by SNI and ALPN offering h2 and http/1.1. HTTP/1.x
 * connections of both (WebSocket upgrades included) are served by the proxy's own data path
 * (http1-proxy.ts); HTTP/2 ones by node:http2, here. A request is routed by host and path,
 * then sent over HTTP/1.1 with keep-alive to one ready endpoint of its Service (pod
 * addresses), round robin; a failed connection is retried on the next endpoint while the
 * request body has not been sent. Answers of its own: 404 (no rule), 503 (no ready
 * endpoint), 502 (every endpoint tried failed), 504 (the backend went silent), 413 (body
 * too large), 308 (redirect to HTTPS).
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { endToEnd } from '../../core/hop-by-hop.js';
import { logger } from '../../core/log.js';
import { BackendAgent } from './backend-agent.js';
import { BackendPool } from './backend-pool.js';
import type { Endpoint, Pool } from './backends.js';
import { tlsOptions } from './certs.js';
import { StreamClient } from './client-socket.js';
import { clientAddress, droppedInRequest, droppedInResponse, MAX_TRIES } from './forwarding.js';
import { CLIENT_KEEPALIVE_MS, type Http1Context, IDLE_TICK_MS, serveHttp1 } from './http1-proxy.js';
import { IdleSweep } from './idle-sweep.js';
import { type ListenHandle, type ListenTarget, listenOn } from './listen-handle.js';
import { listenPlain, type PlainListener } from './plain-listener.js';
import { listenRawTls, rawTlsMissing, type TlsListenerOptions } from './raw-tls.js';
import { type BackendRef, normalizeHost, type Route } from './routes.js';
import { Scratch } from './scratch.js';

const log = logger('ingress');

/** What the proxy asks of the controller: routes, endpoints and certificates, current at each call. */
export interface IngressRouter {
  match(host: string | undefined, url: string | undefined): Route | undefined;
  pool(backend: BackendRef): Pool;
  contextFor(servername: string | undefined): SecureContext;
}

export interface IngressProxyOptions {
  router: IngressRouter;
  /** Where to listen; default every IPv4 address of the node. */
  address?: string;
  httpPort: number;
  httpsPort: number;
  /**
   * Sockets bound by another process to accept on instead of listening anew (a helper
   * process's; listen-handle.ts). The ports above are then the ones they were bound to (0:
   * any), checked once listening.
   */
  handles?: { http: ListenHandle; https: ListenHandle };
  /** The certificate for handshakes without SNI (PEM). */
  defaultCertificate: { cert: string; key: string };
}

export interface IngressProxy {
  httpPort: number;
  httpsPort: number;
  close(): Promise<void>;
}

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/** The host the client asked for: `Host`, or `:authority` over HTTP/2. */
function hostOf(req: Request): string {
  return (req.headers[':authority'] as string | undefined) ?? req.headers.host ?? '';
}

/**
 * The headers sent to the backend: the client's end-to-end headers, its Host, and the
 * X-Forwarded-* and X-Real-IP headers, set (not appended: the client's own values are not
 * trusted, as at any first hop).
 */
export function upstreamHeaders(
  headers: http.IncomingHttpHeaders,
  facts: { host: string; client: string; scheme: 'http' | 'https'; port: number },
): http.OutgoingHttpHeaders {
  const out = endToEnd(headers, droppedInRequest);
  out.host = facts.host;
  out['x-forwarded-for'] = facts.client;
  out['x-real-ip'] = facts.client;
  out['x-forwarded-proto'] = facts.scheme;
  out['x-forwarded-host'] = facts.host;
  out['x-forwarded-port'] = String(facts.port);
  return out;
}

/** The headers sent to the backend for a request that came to this proxy by `scheme`. */
const forwardedHeaders = (req: Request, scheme: 'http' | 'https') =>
  upstreamHeaders(req.headers, {
    host: hostOf(req),
    client: clientAddress(req.socket),
    scheme,
    port: req.socket.localPort ?? 0,
  });

const responseHeaders = (h: http.IncomingHttpHeaders) => endToEnd(h, droppedInResponse);

/** Starts a response of either protocol (their writeHead signatures differ, not what they do). */
function writeHead(res: Response, status: number, headers: http.OutgoingHttpHeaders): void {
  if (res instanceof http.ServerResponse) res.writeHead(status, headers);
  else res.writeHead(status, headers);
}

/** A short plain-text answer of the proxy's own. */
function answer(res: Response, status: number, extra: http.OutgoingHttpHeaders = {}): void {
  const w: Writable = res;
  if (res.headersSent) {
    w.destroy();
    return;
  }
  const body = `${status} ${http.STATUS_CODES[status] ?? ''}\n`;
  writeHead(res, status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...extra,
  });
  w.end(body);
}

class Timeout extends Error {
  constructor(readonly phase: 'connect' | 'read') {
    super(`${phase} timeout`);
  }
}

const isReadTimeout = (e: Error) => e instanceof Timeout && e.phase === 'read';

/** Why a request is not passed on, or the pool to pass it to. */
type Decision = { status: number; headers?: http.OutgoingHttpHeaders } | { route: Route; pool: Pool };

export class IngressProxyServer {
  private readonly agent = new BackendAgent();
  /** The HTTPS port redirects name (the one listened on, once known). */
  httpsPort: number;
  /** What the HTTP/1.x data path serves from. */
  readonly http1: Http1Context;

  constructor(private readonly o: IngressProxyOptions) {
    this.httpsPort = o.httpsPort;
    this.http1 = {
      router: o.router,
      pool: new BackendPool(),
      idle: new IdleSweep(IDLE_TICK_MS, CLIENT_KEEPALIVE_MS / IDLE_TICK_MS),
      httpsPort: () => this.httpsPort,
      scratch: new Scratch(),
    };
  }

  /** Drops the keep-alive connections to endpoints. */
  close(): void {
    this.agent.destroy();
    this.http1.pool.destroy();
    this.http1.idle.close();
  }

  private decide(req: Request, scheme: 'http' | 'https'): Decision {
    const host = hostOf(req);
    const route = this.o.router.match(host, req.url);
    if (!route) return { status: 404 };
    const redirect = route.options.sslRedirect;
    if (scheme === 'http' && (redirect === 'always' || (redirect === 'if-tls' && route.tls))) {
      const port = this.httpsPort === 443 ? '' : `:${this.httpsPort}`;
      const name = normalizeHost(host);
      if (name) return { status: 308, headers: { location: `https://${name}${port}${req.url ?? '/'}` } };
    }
    const limit = route.options.bodyLimit;
    if (limit !== undefined && Number(req.headers['content-length'] ?? 0) > limit) return { status: 413 };
    const pool = this.o.router.pool(route.backend);
    if (!pool.endpoints.length) return { status: 503 };
    return { route, pool };
  }

  /** One request of any listener (HTTP/1.1 or HTTP/2). */
  handle(req: Request, res: Response, scheme: 'http' | 'https'): void {
    const d = this.decide(req, scheme);
    if ('status' in d) {
      // A refused body is not read: HTTP/1.1 closes the connection rather than drain it.
      const close = d.status === 413 && req.httpVersionMajor === 1 ? { connection: 'close' } : {};
      answer(res, d.status, { ...d.headers, ...close });
      return;
    }
    const headers = forwardedHeaders(req, scheme);
    // A request without a body can be sent again as it is; one with a body only until it is read.
    const bodyless =
      req.httpVersionMajor === 2
        ? (req as http2.Http2ServerRequest).stream.endAfterHeaders
        : !req.headers['transfer-encoding'] && Number(req.headers['content-length'] ?? 0) === 0;
    this.forward(req, res, d.route, d.pool, headers, bodyless);
  }

  private forward(
    req: Request,
    res: Response,
    route: Route,
    pool: Pool,
    headers: http.OutgoingHttpHeaders,
    bodyless: boolean,
  ): void {
    let bodySent = false;
    let responded = false;
    let current: http.ClientRequest | undefined;
    const body: Readable = req;
    const out: Writable = res;
    // A client gone before the answer ends takes the backend request with it.
    out.once('close', () => {
      if (!out.writableEnded) current?.destroy();
    });
    const limit = route.options.bodyLimit;
    let received = 0;
    let tooLarge = false;
    /** Counts a body of unknown length as it goes (listening makes it flow: only once it is piped). */
    const countBody = () => {
      if (limit === undefined) return;
      body.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received <= limit || tooLarge) return;
        tooLarge = true;
        body.unpipe();
        current?.destroy();
        answer(res, 413, req.httpVersionMajor === 1 ? { connection: 'close' } : {});
      });
    };
    const sent = sendToEndpoints({
      pool,
      connectTimeoutMs: route.options.connectTimeoutMs,
      options: { method: req.method, path: req.url, headers, agent: this.agent },
      sent: (up) => {
        current = up;
        if (bodyless) up.end();
        up.once('response', (ur) => {
          responded = true;
          if (tooLarge) return ur.resume();
          writeHead(res, ur.statusCode ?? 502, responseHeaders(ur.headers));
          ur.once('error', () => out.destroy());
          ur.pipe(out);
        });
      },
      connected: (up) => {
        up.setTimeout(route.options.readTimeoutMs, () => up.destroy(new Timeout('read')));
        if (bodyless || bodySent) return;
        bodySent = true;
        countBody();
        body.pipe(up);
      },
      retriable: (e) => !tooLarge && !responded && !isReadTimeout(e) && (bodyless || !bodySent),
      failed: (e, ep) => {
        if (tooLarge) return;
        if (responded) {
          // The answer broke off midway: the client must see it broken, not complete.
          out.destroy();
          return;
        }
        if (isReadTimeout(e)) return answer(res, 504);
        log.warn('no endpoint answered', {
          ingress: route.ingress,
          endpoint: `${ep.host}:${ep.port}`,
          err: e,
        });
        answer(res, e instanceof Timeout ? 504 : 502);
      },
    });
    if (!sent) answer(res, 503);
  }
}

/** How sendToEndpoints passes one request on, and what its caller does at each step. */
interface Attempts {
  pool: Pool;
  connectTimeoutMs: number;
  /** The request (method, path, headers, agent); the endpoint's address is added. */
  options: http.RequestOptions;
  /** A request to one endpoint was made: wire its answer, and end it unless a body follows. */
  sent(up: http.ClientRequest): void;
  /** Its connection is open (at once for a kept one): the connect timeout no longer applies. */
  connected?(up: http.ClientRequest): void;
  /** Whether the request may go to the next endpoint after failing with `e`. */
  retriable(e: Error): boolean;
  /** The last endpoint tried failed with `e`. */
  failed(e: Error, ep: Endpoint): void;
}

/**
 * Sends a request to the pool's next endpoint, and on to the next while one fails and the
 * caller allows it, up to MAX_TRIES; each gets the route's connect timeout. False when the pool
 * has no endpoint (nothing was sent).
 */
function sendToEndpoints(a: Attempts): boolean {
  const tries = Math.min(a.pool.endpoints.length, MAX_TRIES);
  let attempt = 0;
  const send = (ep: Endpoint) => {
    attempt++;
    const up = http.request({ ...a.options, host: ep.host, port: ep.port, setHost: false });
    const connectTimer = setTimeout(() => up.destroy(new Timeout('connect')), a.connectTimeoutMs);
    up.once('socket', (s: Socket) => {
      const connected = () => {
        clearTimeout(connectTimer);
        a.connected?.(up);
      };
      if (s.connecting) s.once('connect', connected);
      else connected();
    });
    up.once('error', (e) => {
      clearTimeout(connectTimer);
      const next = attempt < tries && a.retriable(e) ? a.pool.next() : undefined;
      if (!next) return a.failed(e, ep);
      log.debug('endpoint failed; trying another', { endpoint: `${ep.host}:${ep.port}`, err: e });
      send(next);
    });
    a.sent(up);
  };
  const first = a.pool.next();
  if (!first) return false;
  send(first);
  return true;
}

/** Starts both listeners; fails (closing what did start) when either port cannot be had. */
export async function listenIngress(o: IngressProxyOptions): Promise<IngressProxy> {
  const proxy = new IngressProxyServer(o);
  const address = o.address ?? '0.0.0.0';
  // The ports listened on, for X-Forwarded-Port (set once listening, before any connection).
  const ports = { http: 0, https: 0 };
  const secure = http2.createSecureServer({
    ...tlsOptions,
    allowHTTP1: true,
    cert: o.defaultCertificate.cert,
    key: o.defaultCertificate.key,
    SNICallback: (name, cb) => cb(null, o.router.contextFor(name)),
  });
  // HTTP/1.1 connections of the TLS listener are served by node:http's code, which reads these:
  // without noDelay a response written in two parts waits out the client's delayed ACK (40 ms).
  Object.assign(secure, { keepAliveTimeout: CLIENT_KEEPALIVE_MS, noDelay: true });
  secure.on('request', (req, res) => proxy.handle(req, res, 'https'));
  // After the handshake, HTTP/2 sessions go to node:http2 and everything else (ALPN http/1.1,
  // or none, as from s_time) to the proxy's own HTTP/1.x path instead of node:http's.
  const [h2Connection] = secure.listeners('secureConnection') as ((s: TLSSocket) => void)[];
  secure.removeAllListeners('secureConnection');
  secure.on('secureConnection', (s: TLSSocket) => {
    if (s.alpnProtocol === 'h2') h2Connection?.call(secure, s);
    else serveHttp1(new StreamClient(s, true), 'https', ports.https, proxy.http1);
  });
  // Closing ends client connections too (idle keep-alive and HTTP/2 sessions would hold it open).
  const sockets = new Set<Socket>();
  secure.on('connection', (c: Socket) => {
    sockets.add(c);
    c.once('close', () => sockets.delete(c));
  });
  const target = (handle: ListenHandle | undefined, port: number) =>
    handle ? { handle, port } : { port, address };
  // Plain HTTP on libuv's handle directly (raw-tcp.ts, or net.Server on a Node without its
  // internals: plain-listener.ts). Its connections are half-open as before: a client may end
  // its side once its request is out and still get the answer.
  const plain: PlainListener = await listenPlain(target(o.handles?.http, o.httpPort), (c) =>
    serveHttp1(c, 'http', ports.http, proxy.http1),
  );
  ports.http = plain.port;
  let tlsListener: { port: number; close(): void } | undefined;
  try {
    const httpPort = plain.port;
    tlsListener = await listenTls(secure, target(o.handles?.https, o.httpsPort), {
      defaultContext: createSecureContext({ ...tlsOptions, ...o.defaultCertificate }),
      contextFor: (name) => o.router.contextFor(name),
      protocols: ['h2', 'http/1.1'],
      http1: (c) => serveHttp1(c, 'https', ports.https, proxy.http1),
      h2: (s) => {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
        // What node:http2 reads of a TLSSocket, raw-tls.ts gave this socket.
        h2Connection?.call(secure, s as TLSSocket);
      },
    });
    const httpsPort = tlsListener.port;
    ports.https = httpsPort;
    proxy.httpsPort = httpsPort;
    return {
      httpPort,
      httpsPort,
      close: async () => {
        // node:http2's server listens only without the raw TLS listener; its close answers
        // at once when it does not.
        const closed = new Promise<void>((r) => secure.close(() => r()));
        tlsListener?.close();
        plain.close();
        for (const c of sockets) c.destroy();
        proxy.close();
        await closed;
      },
    };
  } catch (e) {
    plain.close();
    tlsListener?.close();
    if (secure.listening) secure.close();
    throw e;
  }
}

/** Tests force node:http2's TLS server with this (the raw TLSWrap exists on every Node that runs them). */
let forceTlsFallback = false;

/** Makes later listeners serve TLS through node:http2's server even where raw-tls.ts works (tests only). */
export function setTlsFallbackForTests(on: boolean): void {
  forceTlsFallback = on;
}

/**
 * Listens for TLS on `target`: on libuv's handles and TLSWrap directly (raw-tls.ts) where this
 * Node has them, else through `secure` (node:http2's TLS server, whose `secureConnection`
 * handler the caller set). Resolves with the listener's port and how to close it.
 */
async function listenTls(
  secure: http2.Http2SecureServer,
  target: ListenTarget,
  o: TlsListenerOptions,
): Promise<{ port: number; close(): void }> {
  if (!rawTlsMissing && !forceTlsFallback) return listenRawTls(target, o);
  log.debug("TLS on node:http2's server", { missing: rawTlsMissing ?? 'forced' });
  const port = await listenOn(secure, target);
  return { port, close: () => {} };
}
