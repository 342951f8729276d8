/**
 * The Ingress's own HTTP/1.1 data path, for plain HTTP and for TLS clients that do not pick
 * h2: on the client's socket it reads a request head (http1-head.ts, strict and bounded),
 * routes it by host and path (IngressRouter), rewrites the head (X-Forwarded-*, hop-by-hop
 * fields dropped, the redirect, the body limit) and writes it on a kept connection to an
 * endpoint (backend-pool.ts); then it passes the body and the response on as bytes, parsing
 * only their framing (http1-body.ts). No IncomingMessage, ServerResponse or ClientRequest is
 * made: node:http's objects and streams per request were most of the proxy's JavaScript
 * (docs/ingress.md, "Where the time goes").
 *
 * Both connections stay open when both sides allow it. A failed connection to an endpoint is
 * tried on the next one, up to three, while no body byte was sent (a request without a body
 * also when a kept connection broke). Answers of its own: 400 (a head it refuses), 404, 503,
 * 502, 504, 413, 308, 408 (a head not received in time), 431 (a head too large), 417 and 505.
 * Upgrades (WebSocket) get a connection of their own and then bytes flow both ways.
 */
import { STATUS_CODES } from 'node:http';
import type net from 'node:net';
import { logger } from '../../core/log.js';
import { PEER_CLOSE_WAIT_MS } from './backend-agent.js';
import type { BackendConn, BackendPool, BackendUser } from './backend-pool.js';
import type { Endpoint, Pool } from './backends.js';
import type { ClientSocket, ClientSocketEvents } from './client-socket.js';
import { clientAddress, droppedInRequest, droppedInResponse, MAX_TRIES } from './forwarding.js';
import { BodyReader, type Framing, noBody, requestFraming, responseFraming } from './http1-body.js';
import {
  type HeaderField,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from './http1-head.js';
import type { IdleMember, IdleSweep } from './idle-sweep.js';
import type { IngressRouter } from './proxy.js';
import { normalizeHost, type Route } from './routes.js';
import type { Scratch } from './scratch.js';

const log = logger('ingress');

/** The largest head read, either way (Node's default maxHeaderSize). */
const MAX_HEAD = 16 * 1024;
/** How long a request head may take to arrive once it began (Node's headersTimeout). */
const HEAD_TIMEOUT_MS = 60_000;
/** How long an idle client connection is kept open (nginx's keepalive_timeout). */
export const CLIENT_KEEPALIVE_MS = 75_000;
/** The idle sweep's tick (idle-sweep.ts): client connections close 74-75 s after their last activity. */
export const IDLE_TICK_MS = 1000;
/** Bytes of a client's next requests held while one is answered before reading pauses. */
const MAX_HELD = 64 * 1024;

/** What the data path needs of the proxy around it. */
export interface Http1Context {
  router: IngressRouter;
  pool: BackendPool;
  /** The client connections' idle timeouts (ticks of IDLE_TICK_MS, CLIENT_KEEPALIVE_MS in all). */
  idle: IdleSweep;
  /** The HTTPS port redirects name. */
  httpsPort(): number;
  /** Writes of bytes from a read buffer that the next read overwrites (scratch.ts). */
  scratch: Scratch;
}

/** The fields of `fields` passed on: not in `dropped`, not named by the message's Connection field. */
function passedOn(
  fields: readonly HeaderField[],
  dropped: ReadonlySet<string>,
  connection: readonly string[],
): string {
  let out = '';
  for (const f of fields) {
    if (dropped.has(f.lower)) continue;
    if (connection.length && connection.includes(f.lower)) continue;
    out += `${f.name}: ${f.value}\r\n`;
  }
  return out;
}

/** A short plain-text answer of the proxy's own. */
function ownAnswer(status: number, close: boolean, extra = ''): string {
  const body = `${status} ${STATUS_CODES[status] ?? ''}\n`;
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n${extra}connection: ${close ? 'close' : 'keep-alive'}\r\n\r\n${body}`;
}

/**
 * Serves one client connection (plain, or TLS after a handshake that did not pick h2) that came
 * to the listener on `port` (X-Forwarded-Port; known, so no getsockname per connection).
 */
export function serveHttp1(
  socket: ClientSocket,
  scheme: 'http' | 'https',
  port: number,
  ctx: Http1Context,
): void {
  new ClientConn(socket, scheme, port, ctx);
}

/** Why a request is not passed on, or where to. */
type Decision = { status: number; extra?: string } | { route: Route; pool: Pool };

class ClientConn implements IdleMember, ClientSocketEvents {
  /** Bytes read and not yet consumed: the start of the next request. */
  buf: Buffer | undefined;
  /** `buf` may be (part of) the read buffer: copied before onData returns. */
  private borrowed = false;
  ex: Exchange | undefined;
  /** When the head now arriving began (0: none is). */
  private headStart = 0;
  /** The client sent its FIN. */
  private ended = false;
  private paused = false;
  private inNext = false;
  closed = false;
  readonly tls: boolean;
  idleTicks = 0;

  constructor(
    readonly socket: ClientSocket,
    readonly scheme: 'http' | 'https',
    readonly port: number,
    readonly ctx: Http1Context,
  ) {
    this.tls = socket.tls;
    // One sweep for every connection's idle timeout instead of a socket timer each, and the
    // connection's events to this object instead of listeners: listeners and timers per
    // connection were a cost of their own when every request comes on a new connection.
    ctx.idle.add(this);
    socket.start(this);
  }

  /** The client's FIN. */
  onEnd(): void {
    this.ended = true;
    const ex = this.ex;
    if (!ex) this.close();
    else if (ex.tunnel) ex.tunnelEnd();
  }

  /** The connection is gone. */
  onClose(): void {
    this.closed = true;
    this.ctx.idle.delete(this);
    this.ex?.clientGone();
  }

  /** The client took what was held back: the endpoint's connection reads again. */
  onDrain(): void {
    this.ex?.clientDrained();
  }

  /** Idle for CLIENT_KEEPALIVE_MS: closed, with a 408 when a head had begun. */
  onIdle(): void {
    // The endpoint's read timeout governs once the request is read, and a tunnel has none.
    if (this.ex?.tunnel || this.ex?.reqBody.done) {
      this.idleTicks = 0;
      return;
    }
    if (!this.ex && this.buf?.length) this.answer(408, true);
    else this.socket.destroy();
  }

  /** A write to the client was held back: the endpoint's connection waits for the client's drain(). */
  held(backend: net.Socket | undefined): void {
    backend?.pause();
  }

  /**
   * Bytes from the client. `b` is valid only during the call (the connection's read buffer,
   * raw-tcp.ts): what is kept past it (the start of a request to come) is copied; on a
   * keep-alive request, the whole head is parsed into strings at once and nothing is.
   */
  onData(b: Buffer): void {
    this.idleTicks = 0;
    const ex = this.ex;
    if (ex?.tunnel) {
      ex.tunnelData(b);
      return;
    }
    if (ex && !ex.reqBody.done) {
      const end = ex.body(b, 0);
      if (end >= 0 && end < b.length) this.hold(b.subarray(end));
    } else {
      this.hold(b);
      if (!ex) this.next();
    }
    if (this.borrowed) {
      this.borrowed = false;
      if (this.buf) this.buf = Buffer.from(this.buf);
    }
  }

  /** Keeps bytes of requests to come; reading pauses while too many wait. */
  private hold(b: Buffer): void {
    if (this.buf) this.buf = Buffer.concat([this.buf, b]);
    else {
      this.buf = b;
      this.borrowed = true;
    }
    if (this.ex && this.buf.length > MAX_HELD && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /**
   * Reads the requests held, one at a time, while each is answered at once (a loop, not a
   * recursion: a client may pipeline thousands of requests the proxy answers itself).
   */
  next(): void {
    if (this.inNext) return;
    this.inNext = true;
    try {
      while (this.readOne());
    } finally {
      this.inNext = false;
    }
  }

  /** Reads the next request from what is held; true when another may follow at once. */
  private readOne(): boolean {
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    const buf = this.buf;
    if (!buf || this.ex || this.closed) {
      if (this.ended && !this.ex) this.close();
      return false;
    }
    const r = parseRequestHead(buf, MAX_HEAD);
    if (!r) {
      const now = Date.now();
      if (!this.headStart) this.headStart = now;
      else if (now - this.headStart > HEAD_TIMEOUT_MS) this.answer(408, true);
      else if (this.ended) this.close();
      return false;
    }
    this.headStart = 0;
    if ('error' in r) {
      log.debug('request refused', { status: r.error.status, reason: r.error.reason });
      this.answer(r.error.status, true);
      return false;
    }
    const head = r.head;
    this.buf = head.size < buf.length ? buf.subarray(head.size) : undefined;
    this.begin(head);
    return !this.ex && !this.closed;
  }

  private begin(head: RequestHead): void {
    const framing = requestFraming(head);
    const bodyless = framing.kind === 'none';
    if (head.method === 'CONNECT') {
      this.answer(405, true);
      return;
    }
    const d = this.decide(head);
    if ('status' in d) {
      this.answer(d.status, !bodyless || !this.keepAlive(head), d.extra);
      return;
    }
    const upgrade = head.upgrade !== undefined && head.connection.includes('upgrade');
    if (head.expect !== undefined) {
      if (head.expect.toLowerCase() !== '100-continue' || head.minor === 0) {
        this.answer(417, true);
        return;
      }
      if (!upgrade) {
        this.noDelay();
        this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      }
    }
    const ex = new Exchange(this, head, d.route, d.pool, framing, upgrade);
    this.ex = ex;
    ex.start();
    if (this.ex !== ex) return;
    const held = this.buf;
    if (held && !ex.reqBody.done && !upgrade) {
      this.buf = undefined;
      const end = ex.body(held, 0);
      if (end >= 0 && end < held.length) this.hold(held.subarray(end));
    }
  }

  /** Whether the client asks to keep its connection (RFC 9112 9.3). */
  keepAlive(head: RequestHead): boolean {
    if (this.ended) return false;
    if (head.minor === 1) return !head.connection.includes('close');
    return head.connection.includes('keep-alive');
  }

  private decide(head: RequestHead): Decision {
    const host = head.host ?? '';
    const route = this.ctx.router.match(host, head.target);
    if (!route) return { status: 404 };
    const redirect = route.options.sslRedirect;
    if (this.scheme === 'http' && (redirect === 'always' || (redirect === 'if-tls' && route.tls))) {
      const port = this.ctx.httpsPort() === 443 ? '' : `:${this.ctx.httpsPort()}`;
      const name = normalizeHost(host);
      if (name) return { status: 308, extra: `location: https://${name}${port}${head.target}\r\n` };
    }
    const limit = route.options.bodyLimit;
    if (limit !== undefined && (head.contentLength ?? 0) > limit) return { status: 413 };
    const pool = this.ctx.router.pool(route.backend);
    if (!pool.endpoints.length) return { status: 503 };
    return { route, pool };
  }

  /** An answer of the proxy's own, then the next request, or the end of the connection. */
  answer(status: number, close: boolean, extra?: string): void {
    if (this.closed) return;
    this.socket.write(ownAnswer(status, close, extra));
    this.ex = undefined;
    if (close) this.close();
    else this.next();
  }

  /** The exchange under way ended; the connection goes on when `keep`. */
  finished(keep: boolean): void {
    this.ex = undefined;
    this.idleTicks = 0;
    if (keep && !this.ended) {
      this.noDelay();
      this.next();
    } else this.close();
  }

  /**
   * Turns Nagle off before a write that may follow another still unacknowledged (a body in
   * parts, interim answers, a second answer on the connection): Nagle would hold it back for
   * the client's delayed ACK (40 ms). An answer that is one write on a connection that then
   * closes, every answer of the `Connection: close` runs, needs no setsockopt.
   */
  noDelay(): void {
    this.socket.setNoDelay();
  }

  /**
   * Ends the connection so that the FIN follows the answer at once and the proxy closes first,
   * as nginx does (RFC 9112 9.6): a client that closes first keeps a TIME_WAIT on its own
   * ports toward the Ingress (docs/ingress.md). When the answer is all with the kernel and no
   * request bytes are left unread, the descriptor is closed at once; otherwise (and over TLS,
   * whose close_notify must go out) the socket ends gracefully.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const s = this.socket;
    if (!this.tls && s.writableLength === 0 && !this.buf) s.destroy();
    else s.end();
  }
}

class Timeout extends Error {
  constructor(readonly phase: 'connect' | 'read') {
    super(`${phase} timeout`);
  }
}

/** One request and its answer, from the head read to the answer's last byte. */
class Exchange implements BackendUser {
  readonly reqBody: BodyReader;
  private readonly bodyless: boolean;
  private backend: BackendConn | undefined;
  private attempt = 0;
  private ep: Endpoint | undefined;
  /** Body bytes read while connecting, sent once connected. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private bodySent = false;
  private connectTimer: NodeJS.Timeout | undefined;
  /** Bytes of the answer's head as they come. */
  private resBuf: Buffer | undefined;
  private resHead: ResponseHead | undefined;
  private resBody: BodyReader | undefined;
  /** The answer's head went to the client. */
  private responded = false;
  private clientKeep = false;
  private dechunk = false;
  private over = false;
  /** Set once the endpoint's 101 came: bytes flow both ways. */
  tunnel = false;

  constructor(
    private readonly conn: ClientConn,
    private readonly head: RequestHead,
    private readonly route: Route,
    private readonly pool: Pool,
    framing: Framing,
    private readonly upgrade: boolean,
  ) {
    this.reqBody = new BodyReader(upgrade ? noBody : framing);
    this.bodyless = framing.kind === 'none';
  }

  start(): void {
    const ep = this.pool.next();
    if (ep) this.send(ep);
    else this.conn.answer(503, !this.bodyless);
  }

  /** The request head as the endpoint gets it. */
  private upstreamHead(ep: Endpoint): string {
    const h = this.head;
    const s = this.conn.socket;
    const client = clientAddress(s);
    const host = h.host ?? `${ep.host}:${ep.port}`;
    let out = `${h.method} ${h.target} HTTP/1.1\r\n${passedOn(h.fields, droppedInRequest, h.connection)}host: ${host}\r\nx-forwarded-for: ${client}\r\nx-real-ip: ${client}\r\nx-forwarded-proto: ${this.conn.scheme}\r\nx-forwarded-host: ${h.host ?? ''}\r\nx-forwarded-port: ${this.conn.port}\r\n`;
    if (this.upgrade) out += `connection: Upgrade\r\nupgrade: ${h.upgrade}\r\n`;
    else if (h.chunked) out += 'transfer-encoding: chunked\r\n';
    return `${out}\r\n`;
  }

  private send(ep: Endpoint): void {
    this.attempt++;
    this.ep = ep;
    // An upgraded connection leaves the pool for good: it gets one of its own.
    const pool = this.conn.ctx.pool;
    this.sendOn(this.upgrade ? pool.fresh(ep, this) : pool.get(ep, this));
  }

  private sendOn(c: BackendConn): void {
    this.backend = c;
    c.setTimeout(this.route.options.readTimeoutMs);
    c.socket.write(this.upstreamHead(this.ep as Endpoint), 'latin1');
    if (c.connected) this.onConnect();
    else {
      this.connectTimer = setTimeout(
        () => this.failed(new Timeout('connect')),
        this.route.options.connectTimeoutMs,
      );
    }
  }

  onConnect(): void {
    if (this.connectTimer) {
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
    }
    const c = this.backend;
    if (!c) return;
    if (this.pending.length) {
      c.socket.setNoDelay(true);
      this.bodySent = true;
    }
    for (const b of this.pending) c.socket.write(b);
    if (this.pendingBytes > MAX_HELD) this.conn.socket.resume();
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Request body bytes from `buf[start..]`; returns where the body's part ends (-1: refused). */
  body(buf: Buffer, start: number): number {
    const end = this.reqBody.feed(buf, start);
    if (end < 0) {
      log.debug('request body refused', { reason: this.reqBody.error });
      this.abandon(400);
      return -1;
    }
    const limit = this.route.options.bodyLimit;
    if (limit !== undefined && this.reqBody.payload > limit) {
      this.abandon(413);
      return -1;
    }
    if (end > start) {
      const c = this.backend;
      if (c?.connected && !this.over) {
        // A body after the head: Nagle would hold it for the pod's delayed ACK.
        c.socket.setNoDelay(true);
        this.bodySent = true;
        if (!this.conn.ctx.scratch.write(c.socket, '', buf, start, end)) this.conn.socket.pause();
      } else {
        // Kept until connected: a copy, since `buf` may be a read buffer.
        this.pending.push(Buffer.from(buf.subarray(start, end)));
        this.pendingBytes += end - start;
        // Reading waits for the connection once a window's worth of body is held.
        if (this.pendingBytes > MAX_HELD) this.conn.socket.pause();
      }
    }
    return end;
  }

  /** The request cannot go on: the endpoint's connection goes, the client gets `status` if nothing was answered yet. */
  private abandon(status: number): void {
    this.over = true;
    this.dropBackend();
    if (this.responded) this.conn.socket.destroy();
    else this.conn.answer(status, true);
  }

  private dropBackend(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    const c = this.backend;
    this.backend = undefined;
    if (c) {
      c.user = undefined;
      c.socket.destroy();
    }
  }

  /** Bytes from the endpoint; `b` is valid only during the call (backend-pool.ts's read buffer). */
  onData(b: Buffer): void {
    if (this.over) return;
    if (this.tunnel) {
      if (!this.conn.ctx.scratch.write(this.conn.socket, '', b, 0, b.length))
        this.conn.held(this.backend?.socket);
      return;
    }
    if (this.resBody) {
      this.responseBody(b, 0);
      return;
    }
    const fresh = !this.resBuf;
    this.resBuf = this.resBuf ? Buffer.concat([this.resBuf, b]) : b;
    this.readResponseHead();
    // A head not whole yet waits for the next read: a copy, not the read buffer.
    if (fresh && this.resBuf) this.resBuf = Buffer.from(this.resBuf);
  }

  private readResponseHead(): void {
    for (;;) {
      const buf = this.resBuf as Buffer;
      const r = parseResponseHead(buf, MAX_HEAD);
      if (!r) return;
      if ('error' in r) {
        log.warn('endpoint answered a malformed head', {
          ingress: this.route.ingress,
          reason: r.error.reason,
        });
        this.abandon(502);
        return;
      }
      const h = r.head;
      const rest = h.size < buf.length ? buf.subarray(h.size) : undefined;
      if (h.status === 101 && this.upgrade) {
        this.switchProtocols(buf);
        return;
      }
      if (h.status < 200) {
        // Interim answers (103 Early Hints, a 100 of the endpoint's own) go on to clients that take them.
        this.conn.noDelay();
        if (h.status !== 101 && this.head.minor === 1)
          this.conn.socket.write(
            `HTTP/1.1 ${h.status} ${h.reason}\r\n${passedOn(h.fields, droppedInResponse, h.connection)}\r\n`,
          );
        this.resBuf = rest;
        if (!rest) return;
        continue;
      }
      this.resBuf = undefined;
      this.startResponse(h, rest);
      return;
    }
  }

  private startResponse(h: ResponseHead, rest: Buffer | undefined): void {
    this.resHead = h;
    const framing = responseFraming(this.head.method, h);
    const clientV11 = this.head.minor === 1;
    this.dechunk = framing.kind === 'chunked' && !clientV11;
    this.clientKeep =
      !this.upgrade &&
      this.conn.keepAlive(this.head) &&
      framing.kind !== 'close' &&
      !this.dechunk &&
      this.reqBody.done;
    let out = `HTTP/1.1 ${h.status} ${h.reason}\r\n${passedOn(h.fields, droppedInResponse, h.connection)}`;
    if (framing.kind === 'chunked' && clientV11) out += 'transfer-encoding: chunked\r\n';
    // Keep-alive is HTTP/1.1's default, but said as nginx and Node say it.
    out += this.clientKeep ? 'connection: keep-alive\r\n\r\n' : 'connection: close\r\n\r\n';
    this.responded = true;
    const s = this.conn.socket;
    const scratch = this.conn.ctx.scratch;
    this.resBody = new BodyReader(
      framing,
      this.dechunk ? (b, from, to) => void scratch.write(s, '', b, from, to) : undefined,
    );
    if (!rest || this.dechunk) {
      s.write(out);
      if (rest) this.responseBody(rest, 0);
      else if (this.resBody.done) this.complete(false);
      return;
    }
    const end = this.resBody.feed(rest, 0);
    if (end < 0) {
      this.brokenAnswer();
      return;
    }
    // The head and the first body bytes in one write.
    if (!scratch.write(s, out, rest, 0, end)) this.conn.held(this.backend?.socket);
    if (this.resBody.done) this.complete(end < rest.length);
  }

  private responseBody(b: Buffer, start: number): void {
    this.conn.noDelay();
    const r = this.resBody as BodyReader;
    const end = r.feed(b, start);
    if (end < 0) {
      this.brokenAnswer();
      return;
    }
    if (!this.dechunk && end > start) {
      if (!this.conn.ctx.scratch.write(this.conn.socket, '', b, start, end))
        this.conn.held(this.backend?.socket);
    }
    if (r.done) this.complete(end < b.length);
  }

  /** The endpoint's answer broke off or is malformed midway: the client must see it broken, not complete. */
  private brokenAnswer(): void {
    log.debug('endpoint answer broke off', { ingress: this.route.ingress, reason: this.resBody?.error });
    this.over = true;
    this.dropBackend();
    this.conn.socket.destroy();
  }

  /** The whole answer was passed on; `extra`: the endpoint sent bytes past it. */
  private complete(extra: boolean): void {
    this.over = true;
    const c = this.backend;
    this.backend = undefined;
    const h = this.resHead as ResponseHead;
    if (c) {
      c.user = undefined;
      const reusable =
        !extra &&
        !this.upgrade &&
        h.minor === 1 &&
        !h.connection.includes('close') &&
        this.resBody?.framing.kind !== 'close' &&
        this.reqBody.done &&
        !c.socket.readableEnded;
      if (reusable) {
        c.socket.resume();
        this.conn.ctx.pool.release(c);
      }
      // Held by no one and in no pool, the connection is closed when the endpoint's FIN comes
      // (or after PEER_CLOSE_WAIT_MS), so the TIME_WAIT stays in the pod; one close(2), no
      // shutdown(2) before it.
      else if (!extra && !c.socket.readableEnded) c.setTimeout(PEER_CLOSE_WAIT_MS);
      else c.socket.destroy();
    }
    this.conn.finished(this.clientKeep);
  }

  /** The endpoint took the upgrade: its head goes on as it came, then bytes both ways. */
  private switchProtocols(buf: Buffer): void {
    this.tunnel = true;
    this.responded = true;
    this.resBuf = undefined;
    const c = this.backend as BackendConn;
    const s = this.conn.socket;
    this.conn.ctx.idle.delete(this.conn);
    c.setTimeout(0);
    this.conn.noDelay();
    // `buf` may be the endpoint's read buffer.
    this.conn.ctx.scratch.write(s, '', buf, 0, buf.length);
    const held = [...this.pending, ...(this.conn.buf ? [this.conn.buf] : [])];
    this.pending = [];
    this.conn.buf = undefined;
    c.socket.setNoDelay(true);
    for (const b of held) c.socket.write(b);
  }

  /** Bytes from the client once the endpoint took the upgrade. */
  tunnelData(b: Buffer): void {
    const c = this.backend;
    if (!c || !this.conn.ctx.scratch.write(c.socket, '', b, 0, b.length)) this.conn.socket.pause();
  }

  /** The client's FIN once the endpoint took the upgrade. */
  tunnelEnd(): void {
    this.backend?.socket.end();
  }

  clientDrained(): void {
    this.backend?.socket.resume();
  }

  onDrain(): void {
    if (this.tunnel || !this.reqBody.done) this.conn.socket.resume();
  }

  onEnd(): void {
    if (this.over) return;
    if (this.tunnel) {
      this.conn.socket.end();
      return;
    }
    if (this.resBody?.framing.kind === 'close') {
      this.resBody.done = true;
      this.complete(false);
      return;
    }
    this.failed(new Error('the endpoint closed the connection before the answer ended'));
  }

  onClose(err: Error | undefined): void {
    if (this.over) return;
    if (this.tunnel) {
      this.over = true;
      this.conn.socket.destroy();
      return;
    }
    this.failed(err ?? new Error('the connection to the endpoint closed'));
  }

  onTimeout(): void {
    if (this.over) return;
    if (this.tunnel) return;
    this.failed(new Timeout('read'));
  }

  /** The client went away: the endpoint's connection goes too, unless the answer was done. */
  clientGone(): void {
    if (this.over) return;
    this.over = true;
    this.dropBackend();
  }

  private failed(e: Error): void {
    if (this.over) return;
    const ep = this.ep as Endpoint;
    this.dropBackend();
    if (this.responded) {
      this.brokenAnswer();
      return;
    }
    const readTimeout = e instanceof Timeout && e.phase === 'read';
    const answerStarted = this.resBuf !== undefined;
    const retriable = !readTimeout && !answerStarted && (this.bodyless || !this.bodySent);
    const next =
      retriable && this.attempt < Math.min(this.pool.endpoints.length, MAX_TRIES)
        ? this.pool.next()
        : undefined;
    if (next) {
      log.debug('endpoint failed; trying another', { endpoint: `${ep.host}:${ep.port}`, err: e });
      this.send(next);
      return;
    }
    this.over = true;
    if (!readTimeout)
      log.warn('no endpoint answered', {
        ingress: this.route.ingress,
        endpoint: `${ep.host}:${ep.port}`,
        err: e,
      });
    this.conn.answer(e instanceof Timeout ? 504 : 502, !this.reqBody.done || !this.conn.keepAlive(this.head));
  }
}
