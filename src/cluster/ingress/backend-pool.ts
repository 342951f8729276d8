/**
 * The Ingress's HTTP/1.1 connections to endpoints on its own data path (http1-proxy.ts): raw
 * TCP sockets kept alive per endpoint for reuse, newest first. Each connection's listeners are
 * set once for its life and call whichever exchange holds it, so a request adds none. Every
 * connection reads into the pool's one buffer (net.connect's `onread`) instead of a new 64 KiB
 * allocation per read: the bytes an exchange is given are valid only during its onData.
 */
import net from 'node:net';
import { closeAfterPeer } from './backend-agent.js';
import type { Endpoint } from './backends.js';

/** What an exchange is told about the connection it holds. */
export interface BackendUser {
  onConnect(): void;
  /** Bytes read; valid only during the call (the pool's read buffer). */
  onData(buf: Buffer): void;
  /** The endpoint's FIN. */
  onEnd(): void;
  /** The connection is gone (after an error when `err` is set). */
  onClose(err: Error | undefined): void;
  onDrain(): void;
  /** No byte either way for the read timeout. */
  onTimeout(): void;
}

/** Idle connections kept per endpoint, at most. */
const MAX_IDLE = 256;
/** The read buffer's size (what libuv asks Node for per read). */
const READ_SIZE = 64 * 1024;

/** One connection to an endpoint, held by one exchange at a time or idle in its pool. */
export class BackendConn {
  user: BackendUser | undefined;
  connected = false;
  private timeoutMs = 0;
  private err: Error | undefined;

  constructor(
    readonly socket: net.Socket,
    readonly key: string,
    private readonly pool: BackendPool,
  ) {
    socket.on('connect', () => {
      this.connected = true;
      this.user?.onConnect();
    });
    socket.on('end', () => {
      // Unheld: idle in the pool, or left to close once the endpoint does (Connection: close).
      if (this.user) this.user.onEnd();
      else socket.destroy();
    });
    socket.on('error', (e) => {
      this.err = e;
    });
    socket.on('close', () => {
      this.pool.forget(this);
      const u = this.user;
      this.user = undefined;
      u?.onClose(this.err);
    });
    socket.on('drain', () => this.user?.onDrain());
    socket.on('timeout', () => {
      // Idle past the read timeout (as nginx's upstream keepalive_timeout), or waiting for the
      // FIN of an endpoint that said it would close.
      if (this.user) this.user.onTimeout();
      else socket.destroy();
    });
  }

  /** Bytes read (net.connect's `onread` callback). */
  read(b: Buffer): void {
    // Bytes while idle answer nothing that was asked: the connection cannot be trusted again.
    if (this.user) this.user.onData(b);
    else this.socket.destroy();
  }

  /** The read timeout for the exchange now holding it (set on the socket only when it changes). */
  setTimeout(ms: number): void {
    if (ms === this.timeoutMs) return;
    this.timeoutMs = ms;
    this.socket.setTimeout(ms);
  }
}

export class BackendPool {
  private readonly idle = new Map<string, BackendConn[]>();
  /** What every connection reads into (one read is handled before the next comes). */
  private readonly readBuf = Buffer.allocUnsafeSlow(READ_SIZE);

  /** A kept connection to `ep`, or a new one (connecting: `connected` is false). */
  get(ep: Endpoint, user: BackendUser): BackendConn {
    const key = `${ep.host}:${ep.port}`;
    const free = this.idle.get(key);
    let c = free?.pop();
    while (c && (c.socket.destroyed || !c.socket.writable)) c = free?.pop();
    if (!c) return this.fresh(ep, user, key);
    c.user = user;
    return c;
  }

  /** A new connection to `ep` (connecting), for `user`. */
  fresh(ep: Endpoint, user: BackendUser, key = `${ep.host}:${ep.port}`): BackendConn {
    // Nagle stays on until a body follows a head (the exchange turns it off then): a request
    // without a body is one write, and the setsockopt per connection was a cost of its own.
    const buf = this.readBuf;
    let c: BackendConn | undefined;
    const socket = closeAfterPeer(
      net.connect({
        host: ep.host,
        port: ep.port,
        onread: {
          buffer: buf,
          callback: (n: number) => {
            c?.read(buf.subarray(0, n));
            // Reading stops only when the exchange pauses the socket (backpressure).
            return true;
          },
        },
      }),
    );
    c = new BackendConn(socket, key, this);
    c.user = user;
    return c;
  }

  /** Takes back a connection whose exchange ended with it reusable. */
  release(c: BackendConn): void {
    c.user = undefined;
    let free = this.idle.get(c.key);
    if (!free) {
      free = [];
      this.idle.set(c.key, free);
    }
    if (free.length >= MAX_IDLE) c.socket.destroy();
    else free.push(c);
  }

  /** Drops a closed connection from the idle lists. */
  forget(c: BackendConn): void {
    const free = this.idle.get(c.key);
    const i = free?.indexOf(c) ?? -1;
    if (i >= 0) free?.splice(i, 1);
  }

  /** Closes every idle connection. */
  destroy(): void {
    for (const free of this.idle.values()) for (const c of [...free]) c.socket.destroy();
    this.idle.clear();
  }
}
