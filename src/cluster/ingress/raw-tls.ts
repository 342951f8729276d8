/**
 * The Ingress's TLS listener on libuv's TCP handles and node:tls's TLSWrap directly, without
 * net.Server, net.Socket and TLSSocket. Per handshake Node's two socket objects (the accepted
 * net.Socket and the TLSSocket over it, Duplex streams with their state and listeners), their
 * stream paths for each read, write and close, and the errors made for a client's reset cost
 * about a third of the CPU of the handshake itself (docs/ingress.md, "TLS on libuv's handles").
 * The TLSWrap is what TLSSocket drives, used here as node:tls uses it for a server: the same
 * callbacks (`onhandshakedone`, `oncertcb` for SNI, `onerror`), ALPN protocols, and the
 * StreamBase methods raw-tcp.ts uses on a TCP handle, so an HTTP/1.x connection is a RawClient
 * over the TLSWrap. A connection whose client picks `h2` is handed to node:http2 as a
 * net.Socket over the same TLSWrap (what TLSSocket is to it). Where this Node lacks one of
 * these internals, proxy.ts listens with node:http2's TLS server as before.
 */
import net from 'node:net';
import tls, { type SecureContext } from 'node:tls';
import { logger } from '../../core/log.js';
import type { ClientSocket } from './client-socket.js';
import { type IdleMember, IdleSweep } from './idle-sweep.js';
import type { ListenTarget } from './listen-handle.js';
import {
  nodeBinding,
  openListener,
  type RawClient,
  type RawListener,
  RawTlsClient,
  rawTcpMissing,
  type TcpHandle,
} from './raw-tcp.js';

const log = logger('ingress');

/** What a server connection's TLSWrap is given and calls back (node:tls's `ssl`). */
interface TlsWrap extends TcpHandle {
  /** The TCP handle under it: node:tls's forwarded methods (getpeername, setNoDelay, close) use it. */
  _parent: TcpHandle;
  /** This connection's handshake (the callbacks below find it here). */
  handshake?: Handshake;
  onhandshakestart: (this: TlsWrap, now: number) => void;
  onhandshakedone: (this: TlsWrap) => void;
  oncertcb: (this: TlsWrap, info: { servername?: string }) => void;
  onerror: (this: TlsWrap, err: Error) => void;
  /** The certificate's context for this handshake, set by `oncertcb` (SNI). */
  sni_context?: unknown;
  enableCertCb(): void;
  certCbDone(): void;
  setALPNProtocols(protocols: Buffer): void;
  getALPNNegotiatedProtocol(): string | false;
  destroySSL(): void;
}

/** node:tls's ALPN encoder (exported, not in its typings). */
const convertALPNProtocols = (tls as unknown as { convertALPNProtocols?: (p: string[], out: object) => void })
  .convertALPNProtocols;

type Wrap = (handle: TcpHandle, context: unknown, isServer: boolean, hasActiveWrite: boolean) => TlsWrap;

/** The TLSWrap methods used here besides those raw-tcp.ts checks on TCP handles. */
const TLS_METHODS = [
  'enableCertCb',
  'certCbDone',
  'setALPNProtocols',
  'getALPNNegotiatedProtocol',
  'destroySSL',
  'readStart',
  'readStop',
  'writeLatin1String',
  'writeBuffer',
  'shutdown',
  'useUserBuffer',
  // node:tls adds these, forwarding them to `_parent`.
  'getpeername',
  'setNoDelay',
  'close',
] as const;

/** tls_wrap's `wrap`, or why it cannot be used (checked once at load, as raw-tcp.ts does). */
function loadWrap(): { wrap: Wrap } | { missing: string } {
  if (rawTcpMissing) return { missing: rawTcpMissing };
  try {
    const binding = nodeBinding('tls_wrap');
    const wrap = binding?.wrap;
    if (typeof wrap !== 'function') return { missing: 'tls_wrap.wrap' };
    const TLSWrap = binding?.TLSWrap;
    if (typeof TLSWrap !== 'function') return { missing: 'tls_wrap.TLSWrap' };
    const proto = TLSWrap.prototype as Record<string, unknown>;
    for (const m of TLS_METHODS) {
      if (typeof proto[m] !== 'function') return { missing: `tls_wrap.TLSWrap.prototype.${m}` };
    }
    if (typeof convertALPNProtocols !== 'function') return { missing: 'tls.convertALPNProtocols' };
    return { wrap: wrap as Wrap };
  } catch (e) {
    return { missing: `process.binding: ${(e as Error).message}` };
  }
}

const loaded = loadWrap();

/** Why TLS cannot be served on the raw handles on this Node (undefined when it can). */
export const rawTlsMissing: string | undefined = 'missing' in loaded ? loaded.missing : undefined;

/** A handshake not done by then is dropped (tls.Server's `handshakeTimeout` default). */
const HANDSHAKE_TIMEOUT_MS = 120_000;
/** The handshake timeout in the idle sweep's ticks: a handshake is dropped 29/30 to all of it in. */
const HANDSHAKE_TICKS = 30;
/** node:tls's limit on a client's renegotiations: 3 in 10 minutes. */
const RENEG_LIMIT = 3;
const RENEG_WINDOW_MS = 600_000;

/** What the TLS listener serves with. */
export interface TlsListenerOptions {
  /** For clients without SNI (and the handshake's first context). */
  defaultContext: SecureContext;
  /** The context for a server name (the default one when no Secret matches). */
  contextFor(servername: string): SecureContext;
  /** ALPN's protocols, in the server's order of preference. */
  protocols: readonly string[];
  /** A connection whose client did not pick `h2`. */
  http1(c: ClientSocket): void;
  /** A connection whose client picked `h2`: a net.Socket over its TLS stream, as TLSSocket is. */
  h2(socket: net.Socket): void;
  /** How long a handshake may take (tls.Server's default, 120 s, when not given). */
  handshakeTimeoutMs?: number;
}

/**
 * One connection, and its handshake until done. The handshake's timeout is the listener's
 * idle sweep (one timer for all, as the HTTP/1.x path's idle timeouts), which it leaves once
 * done: never zeroed, its count is the time since the connection came.
 */
class Handshake implements IdleMember {
  done = false;
  handshakes = 0;
  lastStart = 0;
  idleTicks = 0;
  /** Once handed to HTTP/2. */
  socket: net.Socket | undefined;
  readonly conn: RawClient;

  constructor(
    readonly ssl: TlsWrap,
    listener: RawListener,
    readonly o: TlsListenerOptions,
    readonly sweep: IdleSweep,
  ) {
    this.conn = new RawTlsClient(ssl, listener, true, () => this.closed());
    sweep.add(this);
  }

  onIdle(): void {
    this.fail('handshake timed out');
  }

  /** The TCP handle closed: the TLS state is freed, off OpenSSL's stack (as node:tls does). */
  closed(): void {
    this.sweep.delete(this);
    setImmediate(destroySsl, this.ssl);
  }

  /** Ends the connection, whoever holds it now. */
  fail(why: string, err?: unknown): void {
    log.debug('TLS client connection failed', { why, err: err instanceof Error ? err.message : err });
    this.sweep.delete(this);
    if (this.socket) this.socket.destroy();
    else this.conn.destroy();
  }
}

/**
 * Listens on `target` and serves TLS on each connection: SNI picks the certificate, ALPN the
 * protocol. Throws as net.Server's listen fails.
 */
export function listenRawTls(target: ListenTarget, o: TlsListenerOptions): RawListener {
  const wrap = (loaded as { wrap: Wrap }).wrap;
  // ALPN's wire form (length-prefixed names), made once for every connection.
  const alpn: { ALPNProtocols?: Buffer } = {};
  convertALPNProtocols?.([...o.protocols], alpn);
  const timeout = o.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
  const sweep = new IdleSweep(timeout / HANDSHAKE_TICKS, HANDSHAKE_TICKS);
  const listener = openListener(target, () => sweep.close());
  listener.handle.onconnection = (e, client) => {
    if (e || !client) {
      log.debug('accept failed', { err: e });
      return;
    }
    let ssl: TlsWrap;
    try {
      ssl = wrap(client, o.defaultContext.context, true, false);
    } catch (err) {
      log.debug('TLS client connection failed', { err: (err as Error).message });
      client.close();
      return;
    }
    ssl._parent = client;
    ssl.onhandshakestart = onHandshakeStart;
    ssl.onhandshakedone = onHandshakeDone;
    ssl.oncertcb = onCertCb;
    ssl.onerror = onTlsError;
    ssl.enableCertCb();
    if (alpn.ALPNProtocols) ssl.setALPNProtocols(alpn.ALPNProtocols);
    const h = new Handshake(ssl, listener, o, sweep);
    ssl.handshake = h;
    listener.clients.add(h.conn);
    // Reading drives the handshake; the connection's reader is set when it is done.
    const err = h.conn.readEarly();
    if (err) h.fail('read', err);
  };
  return listener;
}

function destroySsl(ssl: TlsWrap): void {
  ssl.destroySSL();
}

function onHandshakeStart(this: TlsWrap, now: number): void {
  const h = this.handshake;
  if (!h) return;
  const last = h.lastStart;
  h.lastStart = now;
  if (last === 0) return;
  // A client's renegotiation (TLS 1.2): as node:tls, a few are let through, more are an attack.
  h.handshakes = now - last >= RENEG_WINDOW_MS ? 1 : h.handshakes + 1;
  if (h.handshakes > RENEG_LIMIT) h.fail('TLS session renegotiation attack');
}

function onHandshakeDone(this: TlsWrap): void {
  const h = this.handshake;
  if (!h || h.done) return;
  h.done = true;
  h.sweep.delete(h);
  // Called from inside the read that finished the handshake: the request's bytes that came
  // with it are read right after, so the connection's reader is set before this returns.
  if (this.getALPNNegotiatedProtocol() !== 'h2') {
    h.o.http1(h.conn);
    return;
  }
  h.conn.detach();
  // As node:http2's TLS server has its sockets (`noDelay`): frames written apart are not held
  // for the client's delayed ACK. (The HTTP/1.x data path sets it on its connections itself.)
  this.setNoDelay(true);
  // net.Socket takes a handle as net.Server gives it one (`handle` is not in its typings).
  // It does not start reading (`manualStart`): the TLSWrap already reads, and node:http2's session
  // takes its bytes from C++ once it consumes the stream.
  const socket = new net.Socket({ handle: this, manualStart: true } as net.SocketConstructorOpts);
  Object.assign(socket, { alpnProtocol: 'h2', encrypted: true });
  h.socket = socket;
  socket.once('close', () => h.closed());
  socket.on('error', (err) => log.debug('TLS client connection failed', { err: err.message }));
  h.o.h2(socket);
}

function onCertCb(this: TlsWrap, info: { servername?: string }): void {
  const h = this.handshake;
  try {
    if (info.servername) this.sni_context = h?.o.contextFor(info.servername).context;
    this.certCbDone();
  } catch (err) {
    h?.fail('certificate', err);
  }
}

function onTlsError(this: TlsWrap, err: Error): void {
  this.handshake?.fail('TLS error', err);
}
