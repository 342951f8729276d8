import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, promises as fs, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import {
  errorMessage,
  invalidArgument,
  isAlreadyExists,
  isFailedPrecondition,
  isNotFound,
} from '../../core/errors.js';
import { logger } from '../../core/log.js';
import type { StreamHash } from '../../core/sha256-stream.js';
import { OverlaySnapshotter, OWNER_PID } from './overlay-snapshotter.js';

const log = logger('snapshot');

/**
 * Unpacked layers, one committed snapshot per layer chain (ROOT/snapshots/<chainID hex>/fs,
 * see OverlaySnapshotter), shared by every image and container that uses that chain. A layer
 * is unpacked into an active snapshot and committed only when complete and verified, so a
 * committed snapshot is whole.
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

export function snapshotsDir(root: string): string {
  return join(root, 'snapshots');
}

export function hasSnapshot(root: string, chainId: string): boolean {
  return existsSync(snapshotterOf(root).layerDir(chainId));
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
  // zlib is loaded only here: containers use this module's snapshots without unpacking any.
  const { createGunzip } = await import('node:zlib');
  // pipe() does not pass a read error on; without this the unpack would wait forever.
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  raw.on('error', (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

/** The snapshotter over ROOT/snapshots (it keeps no state in memory, so one per call is fine). */
export function snapshotterOf(root: string): OverlaySnapshotter {
  return new OverlaySnapshotter(snapshotsDir(root));
}

/**
 * Makes sure the committed snapshot `chainId` exists, applying `layerBlob` (a blob path or a
 * stream opener; its uncompressed digest must be `diffId`) if it does not: the layer is
 * unpacked into a fresh active snapshot (marked with this process's pid, so a crash leaves
 * nothing `cleanup` keeps) and committed under its chain ID. `parent` is the chain below, or
 * undefined when not known yet (a pull unpacks its layers in parallel and records the
 * parents afterwards with `recordChain`). Returns the snapshot's fs folder. Concurrent callers
 * may both unpack; the first commit wins and the other's copy is dropped.
 */
export async function ensureSnapshot(
  root: string,
  chainId: string,
  diffId: string,
  layerBlob: string | (() => Promise<Readable>),
  parent?: string,
): Promise<string> {
  const snapshotter = snapshotterOf(root);
  const final = snapshotter.layerDir(chainId);
  if (existsSync(final)) {
    if (parent) await snapshotter.setParent(chainId, parent);
    return final;
  }
  const key = `unpack-${process.pid}-${randomBytes(6).toString('hex')}`;
  const mounts = await snapshotter.prepare(key, '', { labels: { [OWNER_PID]: String(process.pid) } });
  try {
    // A blob path, or an opener of the uncompressed tar stream (a pull unpacks while it downloads).
    // The tar reader is loaded only to unpack: containers use this module without it.
    const { unpackLayer } = await import('./unpack.js');
    const { offThreadHash } = await import('../../core/sha256-off-thread.js');
    const tar = typeof layerBlob === 'string' ? await openLayer(layerBlob) : await layerBlob();
    const hash = offThreadHash();
    const tee = hashing(hash);
    tar.on('error', (e) => tee.destroy(e));
    tar.pipe(tee);
    // With no parent the snapshot is one bind mount of its own (empty) folder: the layer is
    // applied there directly, whiteouts in overlay form, with no mount needed.
    try {
      await unpackLayer(tee, mounts[0]!.source);
    } catch (e) {
      hash.drop();
      throw e;
    }
    const got = await hash.digest();
    if (got !== diffId)
      throw invalidArgument(`Layer content does not match its diff ID: expected ${diffId}, got ${got}`);
    try {
      await snapshotter.commit(chainId, key, parent ? { parent } : {});
    } catch (e) {
      // Another process finished the same snapshot first; theirs is as good as ours.
      if (!isAlreadyExists(e)) throw e;
      await snapshotter.remove(key);
    }
  } catch (e) {
    await snapshotter
      .remove(key)
      .catch((re) => log.warn('cannot remove an unpack snapshot', { key, error: String(re) }));
    throw e;
  }
  return final;
}

/** Passes a stream through unchanged, hashing it; waits when the hash asks to (see StreamHash). */
function hashing(hash: StreamHash): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const wait = hash.update(chunk);
      if (wait) wait.then(() => done(null, chunk), done);
      else done(null, chunk);
    },
  });
}

/** Records each chain's parent (the one before it), for snapshots unpacked without one. */
export async function recordChain(root: string, chains: readonly string[]): Promise<void> {
  const snapshotter = snapshotterOf(root);
  for (let i = 1; i < chains.length; i++) await snapshotter.setParent(chains[i]!, chains[i - 1]!);
}

/**
 * Removes a committed snapshot (the caller has checked no image uses it). One that is still a
 * parent (of another image's layer or a container's snapshot) is kept.
 */
export async function removeSnapshot(root: string, chainId: string): Promise<void> {
  try {
    await snapshotterOf(root).remove(chainId);
  } catch (e) {
    if (isNotFound(e)) return;
    if (isFailedPrecondition(e)) {
      log.warn('snapshot kept', { chainId, reason: errorMessage(e) });
      return;
    }
    throw e;
  }
}

/** Lists the chain IDs that have snapshots. */
export function listSnapshots(root: string): string[] {
  const base = snapshotsDir(root);
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((n) => /^[a-f0-9]{64}$/.test(n))
    .map((n) => `sha256:${n}`);
}

/** Removes what interrupted unpacks of processes that are gone left behind. */
export async function sweepSnapshotTemp(root: string): Promise<void> {
  await snapshotterOf(root).cleanup();
}
