/**
 * Writes of bytes that are valid only while a read callback runs. Client and endpoint
 * connections read into one buffer the proxy owns (raw-tcp.ts, backend-pool.ts) instead of a
 * new 64 KiB allocation per read (docs/ingress.md, "Keep-alive, profiled"), so the bytes of a
 * read are overwritten by the next one. A write that the kernel takes at once is done with them
 * when it returns; one that is held back (libuv finishes it later, or the stream queues it)
 * keeps a pointer to them. So they are copied into a scratch buffer, written from there, and
 * the scratch is given up to that write when the destination held anything back after it: it
 * is used again only when no write kept it, which on a keep-alive request is always. A TLS
 * connection's writes complete only after the call (its record goes out on the socket under it),
 * so it would keep every scratch: it gets a copy of its own each time instead, as before.
 */

/** A connection bytes are written to (net.Socket and ClientSocket both are). */
export interface WriteTarget {
  write(data: Uint8Array): boolean;
  /** Bytes written and not yet taken by the kernel (held by the stream or libuv). */
  readonly writableLength: number;
  /** A TLS connection (ClientSocket's flag; net.Socket has none: plain). */
  readonly tls?: boolean;
}

/** The scratch buffer's size: one read's worth. */
const SIZE = 64 * 1024;

/** One proxy's scratch buffer (its connections share it: one callback runs at a time). */
export class Scratch {
  private buf = Buffer.allocUnsafeSlow(SIZE);

  /**
   * Writes `head` (latin1, may be empty) and then `b[from..to]` to `target` as one write, from a
   * copy; returns what the write returned (false: held back, a drain follows).
   */
  write(target: WriteTarget, head: string, b: Uint8Array, from: number, to: number): boolean {
    const headLen = head.length;
    const n = headLen + to - from;
    // Larger than a read (a head and a read together), or for TLS: a buffer of its own.
    const s = n <= SIZE && target.tls !== true ? this.buf : Buffer.allocUnsafe(n);
    if (headLen) s.write(head, 0, headLen, 'latin1');
    s.set(from === 0 && to === b.length ? b : b.subarray(from, to), headLen);
    const ok = target.write(s.subarray(0, n));
    // Held back, or queued behind bytes held back: that write owns the scratch now.
    if (s === this.buf && target.writableLength > 0) this.buf = Buffer.allocUnsafeSlow(SIZE);
    return ok;
  }
}
