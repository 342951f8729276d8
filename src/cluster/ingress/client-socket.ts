/**
 * What the HTTP/1.x data path (http1-proxy.ts) needs of a client connection: bytes in, bytes
 * out with backpressure, pause and resume, and the two ways to end it. Connections are libuv's
 * TCP handles used directly (raw-tcp.ts), TLS ones with node:tls's TLSWrap over them
 * (raw-tls.ts); on a Node without those internals they are Node's sockets, adapted here. The
 * events go to one receiver, set once, instead of listeners per connection.
 */
import type net from 'node:net';
import { logger } from '../../core/log.js';

const log = logger('ingress');

/** What a client connection tells the one reading it. */
export interface ClientSocketEvents {
  /** Bytes read; valid only during the call (raw-tcp.ts reads every connection into one buffer). */
  onData(b: Buffer): void;
  /** The client's FIN: it sends no more (half-open: answers can still go out). */
  onEnd(): void;
  /** Gone, either way (once). */
  onClose(): void;
  /** The bytes held back after a write that returned false went out. */
  onDrain(): void;
}

/** A client connection, as net.Socket's subset the data path uses (the same names and meanings). */
export interface ClientSocket {
  /** Whether it is TLS (its close_notify must go out before the FIN: never closed abruptly). */
  readonly tls: boolean;
  /** The client's address (for X-Forwarded-For). */
  readonly remoteAddress: string | undefined;
  /** Bytes written and not yet taken by the kernel. */
  readonly writableLength: number;
  /** Starts reading; every event goes to `events`. Called once. */
  start(events: ClientSocketEvents): void;
  /** Writes bytes (a string is latin1); false when they were held back (a `drain` follows). */
  write(data: string | Uint8Array): boolean;
  pause(): void;
  resume(): void;
  /** Turns Nagle off (once; later calls cost nothing). */
  setNoDelay(): void;
  /** A FIN once everything written went out; closed when the client's FIN came too. */
  end(): void;
  /** Closed at once; what was not written is lost. */
  destroy(): void;
}

/** A Node socket (TLS, or any Duplex socket) as a ClientSocket. */
export class StreamClient implements ClientSocket {
  private events: ClientSocketEvents | undefined;
  private draining = false;

  constructor(
    private readonly socket: net.Socket,
    readonly tls: boolean,
  ) {}

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  start(events: ClientSocketEvents): void {
    this.events = events;
    const s = this.socket;
    s.on('data', (b: Buffer) => events.onData(b));
    s.on('end', () => events.onEnd());
    s.on('error', (e) => log.debug('client connection failed', { err: e }));
    s.on('close', () => events.onClose());
  }

  write(data: string | Uint8Array): boolean {
    const ok = typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data);
    // A 'drain' listener only once a write was held back.
    if (!ok && !this.draining) {
      this.draining = true;
      this.socket.once('drain', () => {
        this.draining = false;
        this.events?.onDrain();
      });
    }
    return ok;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  setNoDelay(): void {
    this.socket.setNoDelay(true);
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
