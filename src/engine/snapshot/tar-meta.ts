/**
 * What tar-stream does not give: the raw bytes of each entry's extended attributes and
 * whether the entry is a sparse file. tar-stream decodes PAX records as UTF-8 text, which
 * corrupts binary values such as `security.capability`, and reports GNU sparse entries
 * (type `S`) as an unknown type whose body it skips, so a sparse file would silently go
 * missing. This pass-through stream reads the same tar headers on the way to tar-stream and
 * queues, for every entry tar-stream will emit (in the same order), its xattrs and a sparse
 * flag. Go's archive/tar (Docker's, podman's) keeps xattrs as `SCHILY.xattr.NAME` PAX records.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** One entry's metadata, in the order tar-stream emits entries. */
export interface EntryMeta {
  /** Extended attributes by name (`SCHILY.xattr.` prefix removed), values as raw bytes. */
  xattrs: Map<string, Buffer>;
  /** A GNU sparse file (old `S` type or PAX `GNU.sparse.*` records). */
  sparse: boolean;
}

const BLOCK = 512;
/** PAX record blocks larger than this are refused by tar-stream too. */
const MAX_PAX = 1024 * 1024;
const XATTR = 'SCHILY.xattr.';

/** A numeric header field: octal text, or base-256 when its top bit is set. */
function numberField(buf: Buffer, offset: number, length: number): number {
  if ((buf[offset]! & 0x80) !== 0) {
    let n = buf[offset]! & 0x7f;
    for (let i = offset + 1; i < offset + length; i++) n = n * 256 + buf[i]!;
    return n;
  }
  const text = buf
    .toString('latin1', offset, offset + length)
    .replace(/[\0 ]+$/, '')
    .trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

/** PAX records (`LEN KEY=VALUE\n`), values kept as bytes. */
export function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const len = Number.parseInt(data.toString('latin1', at, space), 10);
    if (!(len > 0) || at + len > data.length) break;
    const record = data.subarray(space + 1, at + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq > 0) out.set(record.toString('utf8', 0, eq), Buffer.from(record.subarray(eq + 1)));
    at += len;
  }
  return out;
}

/** Passes a tar stream through unchanged, queueing each entry's {@link EntryMeta}. */
export class TarMeta extends Transform {
  private readonly queue: EntryMeta[] = [];
  private pending = Buffer.alloc(0);
  /** Body bytes of the current entry still to pass (with padding), and whether to keep them. */
  private skip = 0;
  private capture: { type: number; size: number; parts: Buffer[] } | undefined;
  private pax = new Map<string, Buffer>();
  private global = new Map<string, Buffer>();

  /** The next entry's metadata (call once per entry tar-stream emits). */
  next(): EntryMeta {
    return this.queue.shift() ?? { xattrs: new Map(), sparse: false };
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.scan(chunk);
    } catch (e) {
      done(e as Error);
      return;
    }
    done(null, chunk);
  }

  private scan(chunk: Buffer): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length > 0) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length);
        if (this.capture) this.capture.parts.push(buf.subarray(0, n));
        this.skip -= n;
        buf = buf.subarray(n);
        if (this.skip === 0 && this.capture) this.endCapture();
        continue;
      }
      if (buf.length < BLOCK) break;
      this.header(buf.subarray(0, BLOCK));
      buf = buf.subarray(BLOCK);
    }
    this.pending = Buffer.from(buf);
  }

  private header(h: Buffer): void {
    if (h.every((b) => b === 0)) return;
    const type = h[156]!;
    const size = numberField(h, 124, 12);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    const t = String.fromCharCode(type);
    if (t === 'x' || t === 'g') {
      if (size > MAX_PAX) throw new Error('Header exceeds max size');
      this.capture = { type, size, parts: [] };
      this.skip = padded;
      if (padded === 0) this.endCapture();
      return;
    }
    if (t === 'L' || t === 'K') {
      this.skip = padded;
      return;
    }
    const records = new Map([...this.global, ...this.pax]);
    this.pax = new Map();
    const xattrs = new Map<string, Buffer>();
    let sparse = t === 'S';
    for (const [k, v] of records) {
      if (k.startsWith(XATTR)) xattrs.set(k.slice(XATTR.length), v);
      if (k.startsWith('GNU.sparse.')) sparse = true;
    }
    this.queue.push({ xattrs, sparse });
    const paxSize = records.get('size');
    const bodySize = paxSize ? Number.parseInt(paxSize.toString('latin1'), 10) : size;
    const dir =
      t === '5' ||
      ((type === 0 || t === '0') && h.toString('latin1', 0, 100).replace(/\0.*$/s, '').endsWith('/'));
    // tar-stream reads no body for a directory, whatever its size says.
    this.skip = dir ? 0 : Math.ceil(bodySize / BLOCK) * BLOCK;
  }

  private endCapture(): void {
    const c = this.capture!;
    this.capture = undefined;
    const records = parsePax(Buffer.concat(c.parts).subarray(0, c.size));
    if (String.fromCharCode(c.type) === 'g') this.global = records;
    else this.pax = records;
  }
}
