/**
 * The server side of a SPDY/3.1 session, as much of it as Kubernetes' streaming protocols use
 * (kubectl port-forward's streams, over an upgraded connection or tunnelled in WebSocket
 * messages): the peer opens streams with SYN_STREAM and headers, each is answered with a
 * SYN_REPLY and becomes a Duplex whose end sends FIN; PINGs are echoed; GOAWAY ends the
 * session. Header blocks are zlib-compressed with the SPDY dictionary, one compression
 * context per direction for the whole session, so they are processed strictly in order.
 * Flow control (WINDOW_UPDATE) is not enforced: Kubernetes' SPDY library does not use it.
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { logger } from '../../../core/log.js';
import { spdyDictionary } from './spdy-dictionary.js';

const log = logger('agent');

const VERSION = 3;
const FLAG_FIN = 0x01;
enum Type {
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
}
/** RST_STREAM status codes used here. */
const PROTOCOL_ERROR = 1;
const INVALID_STREAM = 2;
/** Data frames are cut to this size (the length field allows 16 MiB; peers expect less). */
const MAX_DATA = 32 * 1024;

/** Runs one zlib step to a sync flush and returns what it produced. */
function zlibStep(z: zlib.Inflate | zlib.Deflate, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    z.once('error', onError);
    z.write(input);
    z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      z.off('error', onError);
      // The stream is read in paused mode: everything this step produced is buffered by now.
      const chunks: Buffer[] = [];
      for (let c = z.read() as Buffer | null; c; c = z.read() as Buffer | null) chunks.push(c);
      resolve(Buffer.concat(chunks));
    });
  });
}

function controlFrame(type: Type, flags: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(((flags & 0xff) << 24) | body.length, 4);
  return Buffer.concat([h, body]);
}

function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h.writeUInt32BE(((flags & 0xff) << 24) | data.length, 4);
  return Buffer.concat([h, data]);
}

/** Decodes an uncompressed header block (lower-cased names; several values stay NUL-joined). */
export function decodeHeaderBlock(b: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let off = 4;
  const n = b.readUInt32BE(0);
  for (let i = 0; i < n; i++) {
    const nl = b.readUInt32BE(off);
    const name = b.subarray(off + 4, off + 4 + nl).toString('latin1');
    off += 4 + nl;
    const vl = b.readUInt32BE(off);
    out.set(name.toLowerCase(), b.subarray(off + 4, off + 4 + vl).toString('latin1'));
    off += 4 + vl;
  }
  return out;
}

/** Encodes a header block before compression. */
export function encodeHeaderBlock(headers: ReadonlyMap<string, string>): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]!.writeUInt32BE(headers.size);
  for (const [k, v] of headers)
    for (const s of [k.toLowerCase(), v]) {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(Buffer.byteLength(s, 'latin1'));
      parts.push(len, Buffer.from(s, 'latin1'));
    }
  return Buffer.concat(parts);
}

/** One stream the peer opened: its headers, and its data both ways. */
export class SpdyStream extends Duplex {
  constructor(
    readonly id: number,
    readonly headers: ReadonlyMap<string, string>,
    private readonly session: SpdySession,
  ) {
    super({ allowHalfOpen: true });
    // A write that finds the session closed fails the stream; whoever uses it has gone too.
    this.on('error', (e) => log.debug('SPDY stream failed', { id, err: e }));
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const sends: Promise<void>[] = [];
    for (let off = 0; off < chunk.length; off += MAX_DATA)
      sends.push(this.session.send(() => dataFrame(this.id, 0, chunk.subarray(off, off + MAX_DATA))));
    Promise.all(sends).then(() => cb(), cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.session.send(() => dataFrame(this.id, FLAG_FIN, Buffer.alloc(0))).then(() => cb(), cb);
  }

  private finished = false;

  /** Data from the peer; `fin` ends the readable side. Data after FIN is a protocol error. */
  receive(data: Buffer, fin: boolean): void {
    if (this.finished) {
      this.session.resetStream(this.id, PROTOCOL_ERROR);
      return;
    }
    if (data.length) this.push(data);
    if (fin) {
      this.finished = true;
      this.push(null);
    }
  }

  /** Ends the stream at once (RST_STREAM), dropping what is unsent. */
  reset(): void {
    this.session.resetStream(this.id, 0x5 /* CANCEL */);
  }
}

/**
 * A server-side SPDY/3.1 session over `conn`. Emits `stream` with each {@link SpdyStream} the
 * peer opens (already answered), and `close` when the connection ends.
 */
export class SpdySession extends EventEmitter<{ stream: [SpdyStream]; close: [] }> {
  private readonly streams = new Map<number, SpdyStream>();
  private readonly inflate = zlib.createInflate({ dictionary: spdyDictionary });
  private readonly deflate = zlib.createDeflate({ dictionary: spdyDictionary });
  private input: Buffer = Buffer.alloc(0);
  /** Incoming frames, handled one after the other (header blocks share one zlib context). */
  private incoming: Promise<void> = Promise.resolve();
  /** Outgoing frames, written in the order they were asked for. */
  private outgoing: Promise<void> = Promise.resolve();
  private lastStreamId = 0;
  private closed = false;

  constructor(private readonly conn: Duplex) {
    super();
    conn.on('data', (b: Buffer) => this.onData(b));
    conn.on('error', (e) => {
      log.debug('SPDY connection failed', { err: e });
      this.close();
    });
    conn.on('close', () => this.close());
    conn.on('end', () => this.close());
  }

  /** Queues a frame (built when its turn comes); resolves once the connection took it. */
  send(frame: () => Buffer | Promise<Buffer>): Promise<void> {
    const step = this.outgoing.then(async () => {
      if (this.closed) throw new Error('The SPDY session is closed');
      const b = await frame();
      if (!this.conn.write(b)) await new Promise<void>((r) => this.conn.once('drain', r));
    });
    // A failed frame must not stop the frames after it from being written.
    this.outgoing = step.catch(() => undefined);
    return step;
  }

  resetStream(id: number, status: number): void {
    const s = this.streams.get(id);
    this.streams.delete(id);
    const body = Buffer.alloc(8);
    body.writeUInt32BE(id & 0x7fffffff, 0);
    body.writeUInt32BE(status, 4);
    this.send(() => controlFrame(Type.RstStream, 0, body)).catch((e) =>
      log.debug('RST_STREAM not sent', { err: e as Error }),
    );
    s?.destroy();
  }

  /** Ends the session once every frame asked for is written (the connection is ended, not cut). */
  async end(): Promise<void> {
    await this.outgoing;
    this.conn.end();
  }

  /** Ends the session: every stream is destroyed and the connection closed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) s.destroy();
    this.streams.clear();
    this.inflate.close();
    this.deflate.close();
    this.conn.destroy();
    this.emit('close');
  }

  private onData(b: Buffer): void {
    this.input = this.input.length ? Buffer.concat([this.input, b]) : b;
    while (this.input.length >= 8) {
      const len = this.input.readUInt32BE(4) & 0xffffff;
      if (this.input.length < 8 + len) break;
      const frame = this.input.subarray(0, 8 + len);
      this.input = this.input.subarray(8 + len);
      this.incoming = this.incoming
        .then(() => this.handle(frame))
        .catch((e) => {
          log.warn('SPDY session failed', { err: e as Error });
          this.close();
        });
    }
  }

  private async handle(f: Buffer): Promise<void> {
    if (this.closed) return;
    const flags = f[4]!;
    const body = f.subarray(8);
    if (!(f[0]! & 0x80)) {
      const id = f.readUInt32BE(0) & 0x7fffffff;
      const s = this.streams.get(id);
      if (!s) return this.resetStream(id, INVALID_STREAM);
      s.receive(Buffer.from(body), (flags & FLAG_FIN) !== 0);
      return;
    }
    const version = f.readUInt16BE(0) & 0x7fff;
    if (version !== VERSION) throw new Error(`Unsupported SPDY version ${version}`);
    switch (f.readUInt16BE(2) as Type) {
      case Type.SynStream: {
        const id = body.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await zlibStep(this.inflate, body.subarray(10)));
        if (id <= this.lastStreamId || id % 2 === 0) return this.resetStream(id, PROTOCOL_ERROR);
        this.lastStreamId = id;
        const s = new SpdyStream(id, headers, this);
        this.streams.set(id, s);
        s.on('close', () => this.streams.delete(id));
        const reply = Buffer.alloc(4);
        reply.writeUInt32BE(id, 0);
        await this.send(async () =>
          controlFrame(
            Type.SynReply,
            0,
            Buffer.concat([reply, await zlibStep(this.deflate, encodeHeaderBlock(new Map()))]),
          ),
        );
        if (flags & FLAG_FIN) s.receive(Buffer.alloc(0), true);
        this.emit('stream', s);
        return;
      }
      case Type.Headers:
        // Nothing here needs late headers, but they must pass through the shared zlib context.
        await zlibStep(this.inflate, body.subarray(4));
        return;
      case Type.RstStream:
        this.streams.get(body.readUInt32BE(0) & 0x7fffffff)?.destroy();
        return;
      case Type.Ping:
        await this.send(() => controlFrame(Type.Ping, 0, Buffer.from(body)));
        return;
      case Type.GoAway:
        this.close();
        return;
      case Type.SynReply:
      case Type.Settings:
      case Type.WindowUpdate:
        return;
      default:
        return;
    }
  }
}
