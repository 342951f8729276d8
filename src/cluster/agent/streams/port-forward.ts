/**
 * kubectl port-forward's protocol (`portforward.k8s.io`) on a SPDY session: for each local
 * connection kubectl opens an `error` and a `data` stream with the same `requestID` and
 * `port` headers. Once both are there the agent connects to the port in the pod and copies
 * bytes both ways; kubectl's end of the data stream half-closes the pod connection, the pod's
 * end sends FIN on the data stream and ends the error stream, which is what kubectl waits
 * for before it closes the local connection. A failure is written on the error stream (kubectl prints it) before it closes.
 */
import type { Duplex } from 'node:stream';
import { logger } from '../../../core/log.js';
import type { SpdySession, SpdyStream } from './spdy.js';

const log = logger('agent');

export const portForwardProtocol = 'portforward.k8s.io';

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
}

/** Connects to a port in the pod (the runtime's `portForward`). */
export type PortDialer = (port: number, signal: AbortSignal) => Promise<Duplex>;

/** Serves port-forward requests on `session` until it closes; `what` names the pod in errors. */
export function servePortForward(session: SpdySession, dial: PortDialer, what: string): void {
  const pairs = new Map<string, Pair>();
  const abort = new AbortController();
  session.on('close', () => abort.abort());
  session.on('stream', (s) => {
    const type = s.headers.get('streamtype');
    const id = s.headers.get('requestid') ?? s.headers.get('port') ?? '';
    if (type !== 'data' && type !== 'error') {
      log.debug('unexpected port-forward stream', { type });
      return s.reset();
    }
    log.debug('port-forward stream', { pod: what, type, id, port: s.headers.get('port') });
    const pair = pairs.get(id) ?? {};
    pair[type] = s;
    pairs.set(id, pair);
    if (pair.data && pair.error) {
      pairs.delete(id);
      void forward(pair.data, pair.error, dial, what, abort.signal);
    }
  });
}

async function forward(
  data: SpdyStream,
  errors: SpdyStream,
  dial: PortDialer,
  what: string,
  signal: AbortSignal,
): Promise<void> {
  // kubectl only reads the error stream; whatever it sends there is not used.
  errors.resume();
  const portText = data.headers.get('port') ?? '';
  const port = Number(portText);
  const fail = (message: string) => {
    errors.end(`error forwarding port ${portText} to pod ${what}: ${message}`);
    data.end();
  };
  if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(`invalid port "${portText}"`);
  let upstream: Duplex;
  try {
    upstream = await dial(port, signal);
  } catch (e) {
    return fail((e as Error).message);
  }
  upstream.on('error', (e) => {
    if (!errors.writableEnded) errors.write(`error forwarding port ${port} to pod ${what}: ${e.message}`);
    data.end();
  });
  data.on('error', (e) => {
    log.debug('port-forward stream failed', { port, err: e });
    upstream.destroy();
  });
  data.pipe(upstream);
  upstream.pipe(data);
  data.on('close', () => upstream.destroy());
  // Once the pod's side has said all it will (it closed, or failed), the error stream ends:
  // kubectl waits for that before it closes the local connection, so waiting for the local
  // client's end here as well would hang clients that read until the connection closes.
  await new Promise<void>((resolve) => {
    upstream.once('end', resolve);
    upstream.once('close', resolve);
  });
  if (!errors.writableEnded) errors.end();
}
