/**
 * The framing of an HTTP/1.1 message body (RFC 9112 6 and 7.1), for the Ingress's own data
 * path: where a body ends in the bytes of a connection, so that a proxy passes exactly the
 * body on and knows where the next message starts. The bytes themselves are passed on as they
 * came (a chunked body stays chunked); only for a client that cannot take chunked (HTTP/1.0)
 * are the chunks' data handed out apart.
 *
 * The chunked reader is strict, as the head parser is: a chunk size is hex digits only (at
 * most 13, so it stays an exact number), every line ends in CRLF, chunk extensions and trailer
 * fields hold no control characters, and their lines are bounded.
 */

/** How a message's body is delimited. */
export type Framing =
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  | { kind: 'chunked' }
  /** A response without length or chunking: it ends when the connection does. */
  | { kind: 'close' };

export const noBody: Framing = { kind: 'none' };

/** The longest chunk-size line (with extensions) and the most trailer bytes read. */
const MAX_CHUNK_LINE = 4096;
const MAX_TRAILERS = 16 * 1024;

enum S {
  SizeStart,
  Size,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  TrailerLine,
  TrailerLf,
  EndLf,
  Done,
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/** A control character a line may not hold (HTAB is allowed). */
const isCtl = (c: number) => (c < 32 && c !== 9) || c === 127;

/**
 * Reads one body's bytes as they arrive. `feed` says where in a chunk of the connection's bytes
 * the body's part ends; `done` once the whole body was read; `error` when its framing is bad.
 */
export class BodyReader {
  done: boolean;
  /** Bytes of payload so far (a chunked body's data, not its framing). */
  payload = 0;
  error: string | undefined;
  private state = S.SizeStart;
  /** Bytes left of a Content-Length body or of the current chunk. */
  private left = 0;
  private digits = 0;
  private lineBytes = 0;
  private trailerBytes = 0;

  /**
   * @param onData given a chunked body's data apart from its framing (to pass it to a client
   *   that cannot take chunked); not called for other framings, whose bytes are all data.
   */
  constructor(
    readonly framing: Framing,
    private readonly onData?: (buf: Buffer, start: number, end: number) => void,
  ) {
    this.done = framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0);
    if (framing.kind === 'length') this.left = framing.length;
  }

  /**
   * Reads from `buf[start..]`: returns the index where this body's part of `buf` ends (`buf.length`
   * when all of it is body and more may follow), or -1 when the framing is bad (see `error`).
   */
  feed(buf: Buffer, start: number): number {
    if (this.done) return start;
    switch (this.framing.kind) {
      case 'close':
        this.payload += buf.length - start;
        return buf.length;
      case 'length': {
        const n = Math.min(this.left, buf.length - start);
        this.left -= n;
        this.payload += n;
        if (this.left === 0) this.done = true;
        return start + n;
      }
      case 'chunked':
        return this.chunked(buf, start);
      default:
        return start;
    }
  }

  private bad(reason: string): number {
    this.error = reason;
    return -1;
  }

  private chunked(buf: Buffer, start: number): number {
    let i = start;
    const end = buf.length;
    while (i < end) {
      if (this.state === S.Data) {
        const n = Math.min(this.left, end - i);
        this.onData?.(buf, i, i + n);
        this.left -= n;
        this.payload += n;
        i += n;
        if (this.left === 0) this.state = S.DataCr;
        continue;
      }
      const c = buf[i] as number;
      i++;
      switch (this.state) {
        case S.SizeStart:
        case S.Size: {
          const v = hexValue(c);
          if (v >= 0) {
            if (++this.digits > 13) return this.bad('a chunk size of more than 13 hex digits');
            this.left = this.left * 16 + v;
            this.state = S.Size;
          } else if (this.state === S.SizeStart) return this.bad('a chunk size that is not hex');
          else if (c === 59 /* ; */) this.state = S.Ext;
          else if (c === 13) this.state = S.SizeLf;
          else return this.bad('a chunk size followed by something other than ";" or CRLF');
          if (++this.lineBytes > MAX_CHUNK_LINE) return this.bad('a chunk-size line too long');
          break;
        }
        case S.Ext:
          if (c === 13) this.state = S.SizeLf;
          else if (isCtl(c)) return this.bad('a control character in a chunk extension');
          if (++this.lineBytes > MAX_CHUNK_LINE) return this.bad('a chunk-size line too long');
          break;
        case S.SizeLf:
          if (c !== 10) return this.bad('a chunk-size line not ended by CRLF');
          this.digits = 0;
          this.lineBytes = 0;
          this.state = this.left === 0 ? S.TrailerStart : S.Data;
          break;
        case S.DataCr:
          if (c !== 13) return this.bad('chunk data longer than its size');
          this.state = S.DataLf;
          break;
        case S.DataLf:
          if (c !== 10) return this.bad('chunk data not followed by CRLF');
          this.state = S.SizeStart;
          break;
        case S.TrailerStart:
          if (c === 13) this.state = S.EndLf;
          else if (isCtl(c) || c === 32) return this.bad('a malformed trailer field');
          else this.state = S.TrailerLine;
          if (++this.trailerBytes > MAX_TRAILERS) return this.bad('trailer fields too large');
          break;
        case S.TrailerLine:
          if (c === 13) this.state = S.TrailerLf;
          else if (isCtl(c)) return this.bad('a control character in a trailer field');
          if (++this.trailerBytes > MAX_TRAILERS) return this.bad('trailer fields too large');
          break;
        case S.TrailerLf:
          if (c !== 10) return this.bad('a trailer field not ended by CRLF');
          this.state = S.TrailerStart;
          break;
        case S.EndLf:
          if (c !== 10) return this.bad('a chunked body not ended by CRLF');
          this.state = S.Done;
          this.done = true;
          return i;
      }
    }
    return i;
  }
}

/** The framing of a request body (RFC 9112 6.3: no length and no chunking is no body). */
export function requestFraming(h: { contentLength: number | undefined; chunked: boolean }): Framing {
  if (h.chunked) return { kind: 'chunked' };
  if (h.contentLength) return { kind: 'length', length: h.contentLength };
  return noBody;
}

/** The framing of a response body to a request with `method` (RFC 9112 6.3). */
export function responseFraming(
  method: string,
  h: { status: number; contentLength: number | undefined; chunked: boolean },
): Framing {
  if (method === 'HEAD' || h.status < 200 || h.status === 204 || h.status === 304) return noBody;
  if (h.chunked) return { kind: 'chunked' };
  if (h.contentLength !== undefined) return { kind: 'length', length: h.contentLength };
  return { kind: 'close' };
}
