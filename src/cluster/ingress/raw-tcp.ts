/**
 * The plain HTTP listener of the Ingress and its client connections on libuv's TCP handles
 * directly, without net.Server and net.Socket. With a connection per request, Node's socket
 * object (a Duplex stream with its state, listeners and timers, built through V8 inline caches
 * that Node's many kinds of sockets leave megamorphic) and its stream paths for each read,
 * write and close cost about as much CPU as the kernel's work for the connection
 * (docs/ingress.md, "Where the time goes"). The handles are the ones net.Socket itself wraps
 * (`tcp_wrap`, `stream_wrap`: the cluster module's listening handles, listen-handle.ts, are of
 * the same kind), used the way Node's own net.js uses them: `onconnection`, `onread` with
 * `streamBaseState`, `WriteWrap` and `ShutdownWrap` requests. TLS connections are RawClients
 * too, over node:tls's TLSWrap on such a handle (raw-tls.ts).
 */
import { getSystemErrorMap, getSystemErrorName } from 'node:util';
import { logger } from '../../core/log.js';
import type { ClientSocket, ClientSocketEvents } from './client-socket.js';
import {
  bindListener,
  type ListenHandle,
  type ListenTarget,
  listenError,
  wrongPort,
} from './listen-handle.js';

const log = logger('ingress');

/** A write or shutdown request (libuv's uv_write_t / uv_shutdown_t as Node exposes them). */
interface Req {
  handle: TcpHandle;
  oncomplete: (this: Req, status: number) => void;
  async: boolean;
  /** The connection the request is for. */
  conn: RawClient;
  /** Bytes of an asynchronous write, and what it writes (kept alive until it completes). */
  bytes: number;
  data: string | Uint8Array | undefined;
}

/**
 * The methods of libuv's TCP handle used here (node's TCPWrap, a LibuvStreamWrap). A TLS
 * connection's TLSWrap has them too (raw-tls.ts): its stream methods are its own, the TCP ones
 * node:tls forwards to the TCP handle under it.
 */
export interface TcpHandle {
  /** Must stay a function (Node checks). */
  onread: (this: TcpHandle) => void;
  onconnection: ((err: number, client: TcpHandle | undefined) => void) | null;
  /** The connection a client handle serves. */
  conn?: RawClient;
  listen(backlog: number): number;
  readStart(): number;
  readStop(): number;
  writeLatin1String(req: Req, s: string): number;
  writeBuffer(req: Req, b: Uint8Array): number;
  shutdown(req: Req): number;
  setNoDelay(on: boolean): number;
  getpeername(out: { address?: string }): number;
  getsockname(out: { port?: number }): number;
  /** Reads go into `buf` (at its start) instead of a new allocation each; `onread` gets no ArrayBuffer. */
  useUserBuffer(buf: Uint8Array): void;
  close(cb?: () => void): void;
}

interface StreamWrapBinding {
  WriteWrap: new () => Req;
  ShutdownWrap: new () => Req;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kBytesWritten: number;
  kLastWriteWasAsync: number;
}

/** The internals used here, or why they cannot be (a Node without them: plain-listener.ts falls back). */
type Internals = { sw: StreamWrapBinding; UV_EOF: number } | { missing: string };

/** The methods every connection's handle must have (checked on tcp_wrap's TCP, the handles' class). */
const HANDLE_METHODS = [
  'listen',
  'readStart',
  'readStop',
  'writeLatin1String',
  'writeBuffer',
  'shutdown',
  'setNoDelay',
  'getpeername',
  'getsockname',
  'useUserBuffer',
  'close',
] as const;

/**
 * One of Node's internal bindings: process.binding serves these to user code (Node's
 * allow-list); `stream_wrap`, `tcp_wrap` and `tls_wrap` are what net.js and node:tls use.
 */
export function nodeBinding(name: string): Record<string, unknown> | undefined {
  return (process as unknown as { binding(n: string): Record<string, unknown> | undefined }).binding(name);
}

/**
 * Checks, once at load, that every internal used here exists with the shape net.js relies on
 * (Berth runs on Node 20 or later; a later Node may rename or drop any of them).
 */
function loadInternals(): Internals {
  try {
    const sw = nodeBinding('stream_wrap');
    if (!sw) return { missing: "process.binding('stream_wrap')" };
    for (const k of ['WriteWrap', 'ShutdownWrap'] as const) {
      if (typeof sw[k] !== 'function') return { missing: `stream_wrap.${k}` };
    }
    if (!(sw.streamBaseState instanceof Int32Array)) return { missing: 'stream_wrap.streamBaseState' };
    const size = sw.streamBaseState.length;
    for (const k of ['kReadBytesOrError', 'kBytesWritten', 'kLastWriteWasAsync'] as const) {
      const i = sw[k];
      if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= size)
        return { missing: `stream_wrap.${k}` };
    }
    const TCP = nodeBinding('tcp_wrap')?.TCP;
    if (typeof TCP !== 'function') return { missing: 'tcp_wrap.TCP' };
    const proto = TCP.prototype as Record<string, unknown>;
    for (const m of HANDLE_METHODS) {
      if (typeof proto[m] !== 'function') return { missing: `tcp_wrap.TCP.prototype.${m}` };
    }
    const UV_EOF = nodeBinding('uv')?.UV_EOF;
    if (typeof UV_EOF !== 'number' || UV_EOF >= 0) return { missing: 'uv.UV_EOF' };
    return { sw: sw as unknown as StreamWrapBinding, UV_EOF };
  } catch (e) {
    return { missing: `process.binding: ${(e as Error).message}` };
  }
}

const internals = loadInternals();

/** Why the raw handles cannot be used on this Node (undefined when they can). */
export const rawTcpMissing: string | undefined = 'missing' in internals ? internals.missing : undefined;

// Never read when the internals are missing: nothing here runs then (plain-listener.ts).
const sw = ('sw' in internals ? internals.sw : undefined) as StreamWrapBinding;
const UV_EOF = 'UV_EOF' in internals ? internals.UV_EOF : 0;
const state = sw?.streamBaseState as Int32Array;
const { kReadBytesOrError, kBytesWritten, kLastWriteWasAsync } = sw ?? {
  kReadBytesOrError: 0,
  kBytesWritten: 0,
  kLastWriteWasAsync: 0,
};

/** Held-back bytes past which a write returns false (net.Socket's highWaterMark). */
const HIGH_WATER = 16 * 1024;
/** The read buffer's size (what libuv asks Node for per read). */
const READ_SIZE = 64 * 1024;

/**
 * Makes the client connection class. It is made twice, for plain connections (RawClient) and
 * for TLS ones over a TLSWrap (RawTlsClient, raw-tls.ts), the same code as two sets of
 * closures: V8 keeps its inline caches and optimized code per closure, so neither kind of
 * handle makes the other's paths polymorphic (with one class, plain connections cost 10-25%
 * more CPU after TLS ones had run through it: docs/ingress.md, "TLS on libuv's handles").
 */
function rawClientClass() {
  /** A client connection on a libuv TCP handle (or a TLSWrap over one: raw-tls.ts). */
  class RawClient implements ClientSocket {
    writableLength = 0;
    private events: ClientSocketEvents | undefined;
    private peer: string | undefined;
    private needDrain = false;
    private noDelaySet = false;
    /** The client's FIN came. */
    private eof = false;
    /** A shutdown (our FIN) was asked for. */
    private shut = false;
    /** The handle is closing or closed. */
    destroyed = false;
    /** Reading began before start() (readEarly). */
    private readingEarly = false;

    constructor(
      private readonly h: TcpHandle,
      private readonly listener: RawListener,
      readonly tls = false,
      /** Called once the handle closed (raw-tls.ts frees the connection's TLS state). */
      private readonly afterClose?: () => void,
    ) {
      h.conn = this;
      h.onread = onRead;
      // Every connection reads into the listener's one buffer: Node's own allocates 64 KiB per
      // read, shrinks it and wraps it in an ArrayBuffer (malloc, realloc and free, and external
      // memory that sets off V8's mark-compacts). The bytes are valid only during onData.
      h.useUserBuffer(listener.readBuf);
    }

    get remoteAddress(): string | undefined {
      if (this.peer === undefined && !this.destroyed) {
        const out: { address?: string } = {};
        if (this.h.getpeername(out) === 0) this.peer = out.address;
      }
      return this.peer;
    }

    start(events: ClientSocketEvents): void {
      this.events = events;
      if (this.readingEarly) return;
      const err = this.h.readStart();
      if (err) this.failed(err, 'read');
    }

    /**
     * Starts reading before a reader is set: a TLS connection's reads drive its handshake
     * (raw-tls.ts), and its first bytes of data come after the reader was set. Returns libuv's
     * error, if any.
     */
    readEarly(): number {
      this.readingEarly = true;
      return this.h.readStart();
    }

    /** Bytes read into the listener's buffer (`n` > 0), the client's FIN or a read error. */
    read(n: number): void {
      if (this.destroyed) return;
      if (n > 0) {
        this.events?.onData(this.listener.readBuf.subarray(0, n));
        return;
      }
      if (n === 0) return;
      if (n !== UV_EOF) {
        this.failed(n, 'read');
        return;
      }
      this.eof = true;
      this.h.readStop();
      // Our FIN went out already, or nobody reads yet (a TLS client gone during its handshake).
      if (this.shut || !this.events) this.destroy();
      else this.events.onEnd();
    }

    write(data: string | Uint8Array): boolean {
      if (this.destroyed || this.shut) return false;
      const req = new sw.WriteWrap();
      req.handle = this.h;
      req.oncomplete = onWritten;
      req.async = false;
      req.conn = this;
      const err =
        typeof data === 'string' ? this.h.writeLatin1String(req, data) : this.h.writeBuffer(req, data);
      if (err) {
        this.failed(err, 'write');
        return false;
      }
      if (!state[kLastWriteWasAsync]) return true;
      // The kernel took part or none of it: libuv writes the rest when the socket is writable.
      req.async = true;
      req.bytes = state[kBytesWritten] as number;
      req.data = data;
      this.writableLength += req.bytes;
      if (this.writableLength < HIGH_WATER) return true;
      this.needDrain = true;
      return false;
    }

    /** An asynchronous write completed (or failed, or was cancelled by the close). */
    written(req: Req, status: number): void {
      this.writableLength -= req.bytes;
      req.data = undefined;
      if (this.destroyed) return;
      if (status < 0) {
        this.failed(status, 'write');
        return;
      }
      if (this.needDrain && this.writableLength === 0) {
        this.needDrain = false;
        this.events?.onDrain();
      }
    }

    pause(): void {
      if (!this.destroyed && !this.eof) this.h.readStop();
    }

    resume(): void {
      if (!this.destroyed && !this.eof) this.h.readStart();
    }

    setNoDelay(): void {
      if (this.noDelaySet || this.destroyed) return;
      this.noDelaySet = true;
      this.h.setNoDelay(true);
    }

    end(): void {
      if (this.destroyed || this.shut) return;
      this.shut = true;
      // libuv sends the FIN once the writes queued before it are out.
      const req = new sw.ShutdownWrap();
      req.handle = this.h;
      req.oncomplete = onShutdown;
      req.conn = this;
      const err = this.h.shutdown(req);
      if (err) this.destroy();
    }

    /** Our FIN is out: closed now if the client's came, else when it comes (half-open, as Node's sockets). */
    shutDown(): void {
      if (this.eof) this.destroy();
    }

    destroy(): void {
      if (this.destroyed) return;
      this.destroyed = true;
      this.h.onread = ignoreRead;
      this.listener.clients.delete(this);
      this.h.close(() => {
        this.events?.onClose();
        this.afterClose?.();
      });
    }

    /**
     * Gives the handle up to another owner (an HTTP/2 session's socket, raw-tls.ts): no more
     * events reach this connection, and closing the listener no longer closes it.
     */
    detach(): void {
      this.destroyed = true;
      this.h.conn = undefined;
      this.listener.clients.delete(this);
    }

    private failed(err: number, op: string): void {
      log.debug('client connection failed', { err: `${op} ${getSystemErrorName(err)}` });
      this.destroy();
    }
  }

  function onRead(this: TcpHandle): void {
    this.conn?.read(state[kReadBytesOrError] as number);
  }

  /** Reads after the close began (none should come). */
  function ignoreRead(): void {}

  function onWritten(this: Req, status: number): void {
    this.conn.written(this, status);
  }

  function onShutdown(this: Req, status: number): void {
    if (status < 0) this.conn.destroy();
    else this.conn.shutDown();
  }

  return RawClient;
}

/** A client connection on a libuv TCP handle. */
export const RawClient = rawClientClass();
export type RawClient = InstanceType<typeof RawClient>;
/** A TLS client connection: a RawClient over node:tls's TLSWrap (raw-tls.ts). */
export const RawTlsClient = rawClientClass();

/** A listening TCP handle whose connections are RawClients. */
export class RawListener {
  /** Open client connections (closed with the listener). */
  readonly clients = new Set<RawClient>();
  /** What every connection reads into (one read is handled before the next comes). */
  readonly readBuf = Buffer.allocUnsafeSlow(READ_SIZE);
  /** The port listened on. */
  readonly port: number;

  constructor(
    readonly handle: ListenHandle & TcpHandle,
    port: number,
    /** What else goes with the listener (raw-tls.ts's handshake sweep). */
    private readonly onClose?: () => void,
  ) {
    this.port = port;
  }

  private closed = false;

  /** Stops listening and closes every open connection (once; later calls do nothing). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close();
    for (const c of this.clients) c.destroy();
    this.onClose?.();
  }
}

/**
 * Listens on `target` (a socket bound elsewhere, or a port of its own) and hands each new
 * connection to `serve`. Throws as net.Server's listen fails: `listen EADDRINUSE: ...`.
 */
export function listenRaw(target: ListenTarget, serve: (c: RawClient) => void): RawListener {
  const listener = openListener(target);
  listener.handle.onconnection = (e, client) => {
    if (e || !client) {
      // EMFILE and the like: the connection waits in the backlog, as with net.Server.
      log.debug('accept failed', { err: getSystemErrorName(e) });
      return;
    }
    const c = new RawClient(client, listener);
    listener.clients.add(c);
    serve(c);
  };
  return listener;
}

/**
 * A listening handle on `target` (a socket bound elsewhere, or a port of its own), its
 * connections not yet taken; `onClose` runs when it is closed. Throws as net.Server's listen
 * fails: `listen EADDRINUSE: ...`.
 */
export function openListener(target: ListenTarget, onClose?: () => void): RawListener {
  const handle = (
    'handle' in target ? target.handle : bindListener(target.address, target.port)
  ) as ListenHandle & TcpHandle;
  const where = 'handle' in target ? `port ${target.port}` : `${target.address}:${target.port}`;
  // listen(2)'s backlog as net.Server's default.
  const err = handle.listen(511);
  if (err) {
    handle.close();
    const message = getSystemErrorMap().get(err)?.[1] ?? 'failed';
    throw listenError(getSystemErrorName(err), `${message} ${where}`);
  }
  const out: { port?: number } = {};
  handle.getsockname(out);
  const port = out.port ?? 0;
  const wrong = wrongPort(target, port);
  if (wrong) {
    handle.close();
    throw wrong;
  }
  return new RawListener(handle, port, onClose);
}
