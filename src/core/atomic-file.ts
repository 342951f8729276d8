import { randomBytes } from 'node:crypto';
import { closeSync, promises as fs, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Options for {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** File mode of the new file. Default: 0o644. */
  mode?: number;
  /** Also fsync the directory so the rename itself survives a power cut. Default: true. */
  syncDir?: boolean;
  /**
   * fsync at all. Default: true. False for run-time state that does not outlive a reboot
   * anyway: the rename alone keeps the file whole (old or new) through a kill -9.
   */
  fsync?: boolean;
}

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Replaces `path` with `data` so that readers (and a process killed at any moment) see
 * either the old content or the new one, never a mix: write a temp file beside it, fsync,
 * rename over. Leftover temp files are named `.NAME.tmp-*` and are safe to delete.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = tempName(path);
  const fh = await fs.open(tmp, 'w', options.mode ?? 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  if (options.syncDir !== false) await syncDir(dirname(path));
}

/** The synchronous twin of {@link writeFileAtomic}, for code that must not yield. */
export function writeFileAtomicSync(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): void {
  const tmp = tempName(path);
  const fd = openSync(tmp, 'w', options.mode ?? 0o644);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off);
    if (options.fsync !== false) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  if (options.syncDir !== false && options.fsync !== false) {
    const dfd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
}

/** fsyncs a directory, so that entries created or renamed in it are durable. */
export async function syncDir(dir: string): Promise<void> {
  const dh = await fs.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** Writes JSON atomically, two-space indented, with a trailing newline. */
export function writeJsonAtomic(path: string, value: unknown, options?: AtomicWriteOptions): Promise<void> {
  return writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, options);
}
