import { createHash } from 'node:crypto';

/** A running SHA-256 over a stream of chunks, on this thread or another (sha256-off-thread.ts). */
export interface StreamHash {
  /** Adds a chunk; when a promise comes back, wait for it before the next update. */
  update(chunk: Uint8Array): Promise<void> | undefined;
  /** The `sha256:<hex>` digest of everything added; the hash cannot be used afterwards. */
  digest(): Promise<string>;
  /** Gives up the hash without a digest (the stream failed). */
  drop(): void;
}

/** The hash on this thread: for small inputs, and where no hashing thread can start. */
export function localHash(): StreamHash {
  const h = createHash('sha256');
  return {
    update(chunk) {
      h.update(chunk);
      return undefined;
    },
    digest: async () => `sha256:${h.digest('hex')}`,
    drop() {},
  };
}
