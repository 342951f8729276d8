/**
 * Listening sockets shared by processes. The controller's thread binds each Ingress port once
 * and sends the socket to its helper processes, which all accept on it: the kernel hands each
 * new connection to one of them. This is the cluster module's mechanism (Node 20 has no
 * reusePort, and a handle cannot move between worker threads); like the cluster module's
 * primary, the thread binds without listening, so it never accepts a connection itself and
 * every request is served by a helper.
 */
import net, { type AddressInfo, type Server } from 'node:net';
import { getSystemErrorName } from 'node:util';

/** A bound TCP socket (libuv's handle): sent over IPC with `child.send(message, handle)`. */
export interface ListenHandle {
  close(): void;
}

/** Where a server listens: a port of its own, or a socket bound elsewhere (with the port it was bound to, 0 for any). */
export type ListenTarget = { port: number; address: string } | { handle: ListenHandle; port: number };

/**
 * Node's own binder for the cluster module (`net._createServerHandle`, there since Node 0.x):
 * a bound socket without listen(), or a negative errno.
 */
const createServerHandle = (
  net as unknown as {
    _createServerHandle(address: string, port: number, addressType: 4): ListenHandle | number;
  }
)._createServerHandle;

/** An error shaped as net.Server's listen errors: `listen CODE: where`, with `code`. */
export function listenError(code: string, where: string): Error {
  return Object.assign(new Error(`listen ${code}: ${where}`), { code });
}

/** Binds an IPv4 TCP socket for helpers to listen on. */
export function bindListener(address: string, port: number): ListenHandle {
  const h = createServerHandle(address, port, 4);
  if (typeof h === 'number') throw listenError(getSystemErrorName(h), `${address}:${port}`);
  return h;
}

/**
 * The error for a socket sent by its binder (`target.handle`) that listens on another port
 * than it was bound to: libuv keeps a bind's EADDRINUSE for the listen() of the handle that
 * bound, and the receiving process's listen() on the unbound socket picks any port instead.
 */
export function wrongPort(target: ListenTarget, port: number): Error | undefined {
  if ('handle' in target && target.port !== 0 && port !== target.port)
    return listenError('EADDRINUSE', `address already in use, port ${target.port}`);
  return undefined;
}

/** Starts `server` listening on `target`; resolves to the port it listens on. */
export function listenOn(server: Server, target: ListenTarget): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const listening = () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      const wrong = wrongPort(target, port);
      if (wrong) {
        server.close();
        reject(wrong);
        return;
      }
      resolve(port);
    };
    if ('handle' in target) server.listen(target.handle, listening);
    else server.listen(target.port, target.address, listening);
  });
}
