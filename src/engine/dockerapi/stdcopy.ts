/**
 * Docker's multiplexed stream ("stdcopy"): without a TTY, stdout and stderr share one
 * connection as frames of an 8-byte header (stream number, three zero bytes, big-endian
 * payload length) followed by the payload. With a TTY the bytes go as they are.
 */
import { Writable } from 'node:stream';

export const STDOUT = 1;
export const STDERR = 2;

/** One frame of `data` for `stream` (1 stdout, 2 stderr). */
export function frame(stream: number, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

/** Splits a multiplexed byte stream back into frames (for tests and clients). */
export function unframe(buf: Buffer): { stream: number; data: Buffer }[] {
  const out: { stream: number; data: Buffer }[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const len = buf.readUInt32BE(i + 4);
    out.push({ stream: buf[i]!, data: buf.subarray(i + 8, i + 8 + len) });
    i += 8 + len;
  }
  return out;
}

/**
 * A writable that puts what it is given on `sink`, framed as `stream` unless `raw`. It never
 * ends `sink`: the caller closes the connection once every stream is done.
 */
export function streamWriter(sink: { write(b: Buffer): unknown }, stream: number, raw: boolean): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      if (chunk.length) sink.write(raw ? chunk : frame(stream, chunk));
      done();
    },
  });
}
