import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, promises as fs, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { invalidArgument, notFound } from '../../core/errors.js';
import { localHash } from '../../core/sha256-stream.js';

/**
 * Content-addressed blobs under ROOT/blobs/sha256/<hex>, after containerd's content store:
 * small role interfaces so a caller asks only for what it uses.
 *
 * A blob becomes visible only whole and verified: bytes go to a temp file while they are
 * hashed, the digest (and size, when known) is checked, the file is fsynced and renamed into
 * place. A blob whose bytes do not match is an error and nothing of it is kept, so a
 * `kill -9` mid-write leaves at most a temp file, which `sweepTemp` removes.
 */
export interface Provider {
  has(digest: string): boolean;
  size(digest: string): Promise<number>;
  read(digest: string): Promise<Buffer>;
  stream(digest: string): Readable;
  /** The blob's path on disk (for zero-copy readers such as layer unpacking). */
  path(digest: string): string;
}

export interface Ingester {
  /** Stores the bytes of `source`; verifies against `expected` when given. */
  ingest(source: AsyncIterable<Uint8Array>, expected?: { digest?: string; size?: number }): Promise<BlobInfo>;
  /** Stores a buffer; verifies against `expectedDigest` when given. */
  write(bytes: Uint8Array, expectedDigest?: string): Promise<BlobInfo>;
}

export interface Manager {
  delete(digest: string): Promise<void>;
  list(): string[];
  /** Removes temp files left by interrupted writes. */
  sweepTemp(): Promise<void>;
}

export type ContentStore = Provider & Ingester & Manager;

export interface BlobInfo {
  digest: string;
  size: number;
}

const SHA256 = /^sha256:([a-f0-9]{64})$/;

/** Blobs at least this large (by their expected size) are hashed on a worker thread. */
const OFF_THREAD_BYTES = 1 << 20;

/** Checks a digest's form; only sha256 is stored. */
export function hexOf(digest: string): string {
  const m = SHA256.exec(digest);
  if (!m) throw invalidArgument(`Invalid digest "${digest}": expected sha256:<64 hex digits>`);
  return m[1]!;
}

export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Opens (creating if needed) the content store of an engine root. */
export function openContentStore(root: string): ContentStore {
  const dir = join(root, 'blobs', 'sha256');
  const tmpDir = join(root, 'blobs', 'tmp');
  mkdirSync(dir, { recursive: true });
  mkdirSync(tmpDir, { recursive: true });
  const pathOf = (digest: string) => join(dir, hexOf(digest));

  async function commit(tmp: string, digest: string): Promise<void> {
    const final = pathOf(digest);
    await fs.rename(tmp, final);
  }

  const store: ContentStore = {
    has: (digest) => existsSync(pathOf(digest)),
    path: pathOf,
    async size(digest) {
      try {
        return (await fs.stat(pathOf(digest))).size;
      } catch {
        throw notFound(`Blob ${digest} is not in the content store`);
      }
    },
    async read(digest) {
      try {
        return await fs.readFile(pathOf(digest));
      } catch {
        throw notFound(`Blob ${digest} is not in the content store`);
      }
    },
    stream: (digest) => createReadStream(pathOf(digest)),
    async ingest(source, expected = {}) {
      if (expected.digest) hexOf(expected.digest);
      const tmp = join(tmpDir, `${process.pid}-${randomBytes(6).toString('hex')}`);
      const fh = await fs.open(tmp, 'w', 0o644);
      // A large blob (a pulled layer) is hashed off this thread; loaded only then.
      const hash =
        (expected.size ?? 0) >= OFF_THREAD_BYTES
          ? (await import('../../core/sha256-off-thread.js')).offThreadHash()
          : localHash();
      let size = 0;
      let digesting: Promise<string> | undefined;
      try {
        // Coalesce small network chunks into large writes: fewer syscalls, same bytes.
        let pending: Uint8Array[] = [];
        let pendingBytes = 0;
        for await (const chunk of source) {
          const wait = hash.update(chunk);
          if (wait) await wait;
          size += chunk.length;
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= 1 << 20) {
            await fh.write(joined(pending, pendingBytes));
            pending = [];
            pendingBytes = 0;
          }
        }
        if (pendingBytes) await fh.write(joined(pending, pendingBytes));
        // The digest is worked out while the file is flushed.
        digesting = hash.digest();
        await fh.sync();
      } catch (e) {
        // The write's error is the one to report; the digest of a half-written blob is moot.
        if (digesting) digesting.catch(() => undefined);
        else hash.drop();
        await fh.close();
        await fs.rm(tmp, { force: true });
        throw e;
      }
      await fh.close();
      const digest = await digesting;
      if (expected.digest && digest !== expected.digest) {
        await fs.rm(tmp, { force: true });
        throw invalidArgument(`Digest mismatch: expected ${expected.digest}, got ${digest} (${size} bytes)`);
      }
      if (expected.size !== undefined && size !== expected.size) {
        await fs.rm(tmp, { force: true });
        throw invalidArgument(`Size mismatch for ${digest}: expected ${expected.size} bytes, got ${size}`);
      }
      await commit(tmp, digest);
      return { digest, size };
    },
    async write(bytes, expectedDigest) {
      const digest = sha256Digest(bytes);
      if (expectedDigest && digest !== expectedDigest) {
        throw invalidArgument(`Digest mismatch: expected ${expectedDigest}, got ${digest}`);
      }
      if (store.has(digest)) return { digest, size: bytes.length };
      const tmp = join(tmpDir, `${process.pid}-${randomBytes(6).toString('hex')}`);
      const fh = await fs.open(tmp, 'w', 0o644);
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await commit(tmp, digest);
      return { digest, size: bytes.length };
    },
    async delete(digest) {
      await fs.rm(pathOf(digest), { force: true });
    },
    list: () =>
      readdirSync(dir)
        .filter((n) => /^[a-f0-9]{64}$/.test(n))
        .map((n) => `sha256:${n}`),
    async sweepTemp() {
      for (const n of readdirSync(tmpDir)) {
        const pid = Number(n.split('-')[0]);
        // Only files of processes that are gone: a live writer may still be working.
        if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) continue;
        await fs.rm(join(tmpDir, n), { force: true });
      }
    },
  };
  return store;
}

/** The chunks as one buffer; a single chunk (a pull hands over 1 MB at a time) is not copied. */
function joined(chunks: Uint8Array[], bytes: number): Uint8Array {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
