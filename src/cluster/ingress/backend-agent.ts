/**
 * The proxy's connections to endpoints: kept alive for reuse, and closed so that the
 * endpoint, not the node, is left holding TIME_WAIT.
 */
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * How long a connection whose response said `Connection: close` waits for the endpoint's FIN
 * before sending its own: a server that sends `close` must close (RFC 9112 9.6), at once.
 */
export const PEER_CLOSE_WAIT_MS = 1_000;

/**
 * Connections to endpoints, kept alive for reuse (LIFO: warm sockets first).
 *
 * A new connection gets no TCP keep-alive probes: Node's agent turns them on when a connection
 * goes idle into the pool (keepSocketAlive), which is the only time they matter. Setting them
 * on each new one too cost four setsockopt calls per request against backends that close every
 * connection, a fifth of the proxy's system calls.
 *
 * When a response ends the connection (`Connection: close`, HTTP/1.0), Node's HTTP client
 * sends its FIN as soon as it has read the response, racing the endpoint's own close; the side
 * that closes first keeps the connection in TIME_WAIT for 60 s. On the node each one holds an
 * ephemeral port toward that endpoint (about 28,000 per pod address and port), so thousands of
 * requests a second to a pod that closes every connection filled them within half a minute,
 * and then every connect() scanned a nearly full port range. The FIN therefore waits for the
 * endpoint's (closeAfterPeer): TIME_WAIT stays in the pod, where it costs the listening port
 * nothing.
 */
export class BackendAgent extends http.Agent {
  constructor() {
    super({
      keepAlive: true,
      maxFreeSockets: 256,
      scheduling: 'lifo',
      // Headers and body go out as separate writes: Nagle would hold the second back.
      noDelay: true,
    });
  }

  override createConnection(options: http.ClientRequestArgs): Duplex {
    // The options are the agent's own copy for this connection.
    const o = options as net.TcpNetConnectOpts;
    o.keepAlive = false;
    return closeAfterPeer(net.createConnection(o));
  }
}

/**
 * Makes a graceful end of `socket` (Node's HTTP client's `destroySoon` after a response that
 * closes the connection) send its FIN only once the peer's has come, or after
 * PEER_CLOSE_WAIT_MS. Writable's `_final` is the hook an end goes through before the shutdown:
 * the socket stops being writable at once, as the client expects, and only the FIN waits.
 * Destroying the socket (an error, the agent dropping idle connections) is not delayed.
 */
export function closeAfterPeer(socket: net.Socket): net.Socket {
  const final = socket._final.bind(socket);
  socket._final = (done) => {
    if (socket.readableEnded) {
      final(done);
      return;
    }
    const go = () => {
      clearTimeout(timer);
      socket.off('end', go);
      final(done);
    };
    const timer = setTimeout(go, PEER_CLOSE_WAIT_MS);
    timer.unref();
    socket.once('end', go);
    socket.once('close', () => clearTimeout(timer));
  };
  return socket;
}
