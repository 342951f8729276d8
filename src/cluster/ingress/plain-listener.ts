/**
 * The Ingress's plain HTTP listener: libuv's TCP handles directly (raw-tcp.ts) where this Node
 * has the internals they need, else net.Server with Node's sockets behind the same
 * ClientSocket interface (client-socket.ts), as TLS connections are in raw-tls.ts's fallback.
 * The fallback costs CPU per connection (docs/ingress.md) but behaves the same.
 */
import net, { type Socket } from 'node:net';
import { logger } from '../../core/log.js';
import { type ClientSocket, StreamClient } from './client-socket.js';
import { type ListenTarget, listenOn } from './listen-handle.js';
import { listenRaw, rawTcpMissing } from './raw-tcp.js';

const log = logger('ingress');

/** A listening plain HTTP port. */
export interface PlainListener {
  readonly port: number;
  /** Stops listening and closes every open connection. */
  close(): void;
}

/** Tests force the fallback with this (the raw handles exist on every Node that runs them). */
let forceFallback = false;

/** Makes later listeners use net.Server even where the raw handles work (tests only). */
export function setPlainFallbackForTests(on: boolean): void {
  forceFallback = on;
}

let told = false;

/** Listens on `target` and hands each connection to `serve`; rejects as net.Server's listen. */
export async function listenPlain(
  target: ListenTarget,
  serve: (c: ClientSocket) => void,
): Promise<PlainListener> {
  if (!rawTcpMissing && !forceFallback) return listenRaw(target, serve);
  if (!told) {
    told = true;
    log.debug('plain HTTP on net.Server: libuv handles unavailable', { missing: rawTcpMissing ?? 'forced' });
  }
  return listenNet(target, serve);
}

async function listenNet(target: ListenTarget, serve: (c: ClientSocket) => void): Promise<PlainListener> {
  const sockets = new Set<Socket>();
  // Half-open as the raw listener: a client may end its side and still get the answer.
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    serve(new StreamClient(s, false));
  });
  const port = await listenOn(server, target);
  let closed = false;
  return {
    port,
    close: () => {
      if (closed) return;
      closed = true;
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}
