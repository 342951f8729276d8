import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, promises as fs, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { invalidArgument } from '../../core/errors.js';
import { unpackLayer } from './unpack.js';

/**
 * Unpacked layers, one folder per layer chain under ROOT/snapshots/<chainID hex>/fs, shared by
 * every image and container that uses that chain. A snapshot is unpacked into a temp folder
 * and renamed into place only when complete and verified, so its presence means it is whole.
 *
 * The chain ID names a layer together with everything below it (the OCI image spec's
 * ChainID), because the same layer on a different base is a different filesystem.
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev ? `sha256:${createHash('sha256').update(`${prev} ${d}`).digest('hex')}` : d);
  }
  return out;
}

function hex(digest: string): string {
  return digest.slice('sha256:'.length);
}

export function snapshotsDir(root: string): string {
  return join(root, 'snapshots');
}

/** The folder of a chain's unpacked filesystem (it may not exist yet). */
export function snapshotFs(root: string, chainId: string): string {
  return join(snapshotsDir(root), hex(chainId), 'fs');
}

export function hasSnapshot(root: string, chainId: string): boolean {
  return existsSync(snapshotFs(root, chainId));
}

/** A layer blob's compression, by its magic bytes. */
export async function detectCompression(blobPath: string): Promise<'gzip' | 'zstd' | 'none'> {
  const fh = await fs.open(blobPath, 'r');
  const magic = Buffer.alloc(4);
  try {
    await fh.read(magic, 0, 4, 0);
  } finally {
    await fh.close();
  }
  if (magic[0] === 0x1f && magic[1] === 0x8b) return 'gzip';
  if (magic.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/** Opens a layer blob as an uncompressed tar stream. */
export async function openLayer(blobPath: string): Promise<Readable> {
  const kind = await detectCompression(blobPath);
  if (kind === 'zstd')
    throw invalidArgument(`Layer ${blobPath} is zstd-compressed, which this build cannot unpack yet`);
  const raw = createReadStream(blobPath);
  if (kind !== 'gzip') return raw;
  // pipe() does not pass a read error on; without this the unpack would wait forever.
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  raw.on('error', (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

/**
 * Makes sure the snapshot for `chainId` exists, unpacking `layerBlob` (a blob path or a
 * stream opener; its uncompressed digest must be `diffId`) if it does not. Returns the snapshot's fs folder. Concurrent
 * callers may both unpack; the first rename wins and the other's copy is dropped.
 */
export async function ensureSnapshot(
  root: string,
  chainId: string,
  diffId: string,
  layerBlob: string | (() => Promise<Readable>),
): Promise<string> {
  const final = snapshotFs(root, chainId);
  if (existsSync(final)) return final;
  const base = snapshotsDir(root);
  mkdirSync(base, { recursive: true });
  const tmp = join(base, `tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  await fs.mkdir(join(tmp, 'fs'), { recursive: true });
  try {
    // A blob path, or an opener of the uncompressed tar stream (a pull unpacks while it downloads).
    const tar = typeof layerBlob === 'string' ? await openLayer(layerBlob) : await layerBlob();
    const hash = createHash('sha256');
    const tee = new PassThrough();
    tar.on('data', (b: Buffer) => hash.update(b));
    tar.on('error', (e) => tee.destroy(e));
    tar.pipe(tee);
    await unpackLayer(tee, join(tmp, 'fs'));
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== diffId)
      throw invalidArgument(`Layer content does not match its diff ID: expected ${diffId}, got ${got}`);
    await fs.writeFile(join(tmp, 'diffid'), diffId);
    try {
      await fs.rename(tmp, join(base, hex(chainId)));
    } catch (e) {
      // Another process finished the same snapshot first; theirs is as good as ours.
      if (!existsSync(final)) throw e;
      await fs.rm(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return final;
}

/** Removes a snapshot (the caller has checked no image or container uses it). */
export async function removeSnapshot(root: string, chainId: string): Promise<void> {
  const dir = join(snapshotsDir(root), hex(chainId));
  const trash = join(snapshotsDir(root), `tmp-rm-${process.pid}-${randomBytes(6).toString('hex')}`);
  // Rename first so a half-deleted snapshot never looks complete.
  try {
    await fs.rename(dir, trash);
  } catch {
    return;
  }
  await fs.rm(trash, { recursive: true, force: true });
}

/** Lists the chain IDs that have snapshots. */
export function listSnapshots(root: string): string[] {
  const base = snapshotsDir(root);
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((n) => /^[a-f0-9]{64}$/.test(n))
    .map((n) => `sha256:${n}`);
}

/** Removes temp folders of interrupted unpacks whose process is gone. */
export async function sweepSnapshotTemp(root: string): Promise<void> {
  const base = snapshotsDir(root);
  if (!existsSync(base)) return;
  for (const n of readdirSync(base)) {
    const m = /^tmp-(?:rm-)?(\d+)-/.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = pid !== process.pid;
    } catch {
      alive = false;
    }
    if (!alive) await fs.rm(join(base, n), { recursive: true, force: true });
  }
}
