import { conflict } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { removeInitLayers } from '../container/init-layer.js';
import { chainIds, removeSnapshot } from '../snapshot/snapshots.js';
import type { ImageRow } from './image-index.js';
import { findImage, type ImageStore, readImageConfig, readManifest } from './image-store.js';
import { familiarName, normalizeReference, parseReference, repositoryOf } from './reference.js';

const log = logger('image-remove');

/** One line of `rmi`'s report, in Docker's shape. */
export type RemoveReport = { Untagged: string } | { Deleted: string };

/**
 * Who uses an image: containers, and whether each runs, supplied by the container store (the
 * image store does not read its tables).
 */
export type ImageUsers = (imageId: string) => { id: string; running: boolean }[];

export interface RemoveOptions {
  force?: boolean;
  usedBy?: ImageUsers;
}

function isNameRef(ref: string, row: ImageRow): boolean {
  try {
    return row.names.includes(normalizeReference(ref));
  } catch {
    return false;
  }
}

/**
 * `rmi`: removes a name, or the image when it has no other names, with Docker's rules: a
 * name that is one of several only untags; an ID with several names needs force; an image a
 * container uses is kept (force only untags it). Blobs and snapshots no other image uses are
 * removed with the image.
 */
export async function removeImage(
  store: ImageStore,
  ref: string,
  options: RemoveOptions = {},
): Promise<RemoveReport[]> {
  const row = findImage(store, ref);
  const users = options.usedBy?.(row.id) ?? [];
  const report: RemoveReport[] = [];
  const byName = isNameRef(ref, row);
  if (byName && row.names.length > 1) {
    const name = normalizeReference(ref);
    store.index.untag(name);
    return [{ Untagged: familiarName(name) }, ...untagOrphanDigests(store, row, name)];
  }
  // dockerd's rules and words (image_delete.go): by ID, a running container is a conflict
  // even with force, several names or a stopped container one without it.
  const short = row.id.slice(7, 19);
  const cannotDelete = (hard: boolean, why: string) =>
    conflict(
      `conflict: unable to delete ${short} (${hard ? 'cannot be forced' : 'must be forced'}) - ${why}`,
    );
  const running = users.find((u) => u.running);
  const stopped = users.find((u) => !u.running);
  if (!byName) {
    if (running)
      throw cannotDelete(true, `image is being used by running container ${running.id.slice(0, 12)}`);
    if (row.names.length > 1 && !options.force)
      throw cannotDelete(false, 'image is referenced in multiple repositories');
    if (stopped && !options.force)
      throw cannotDelete(false, `image is being used by stopped container ${stopped.id.slice(0, 12)}`);
  }
  if (users.length > 0) {
    if (!options.force) {
      throw conflict(
        `conflict: unable to remove repository reference "${ref}" (must force) - container ${users[0]!.id.slice(0, 12)} is using its referenced image ${short}`,
      );
    }
    for (const n of row.names) {
      store.index.untag(n);
      report.push({ Untagged: familiarName(n) });
    }
    return report;
  }
  for (const n of row.names) report.push({ Untagged: familiarName(n) });
  for (const d of row.digests) report.push({ Untagged: familiarName(d) });
  await deleteImage(store, row);
  report.push({ Deleted: row.id });
  return report;
}

/**
 * After `name` was untagged while the image keeps other names: when no tag of `name`'s
 * repository is left, its `repository@digest` references go too (Docker's image_delete.go
 * does the same), so `images --digests` shows no repository the user removed.
 */
function untagOrphanDigests(store: ImageStore, row: ImageRow, name: string): RemoveReport[] {
  const repo = repositoryOf(parseReference(name));
  const inRepo = (full: string) => repositoryOf(parseReference(full)) === repo;
  if (row.names.some((n) => n !== name && inRepo(n))) return [];
  const report: RemoveReport[] = [];
  for (const d of row.digests.filter(inRepo)) {
    store.index.removeDigest(d);
    report.push({ Untagged: familiarName(d) });
  }
  return report;
}

/**
 * Deletes an image record, then its blobs and snapshots that no remaining image references.
 * When another image's manifest or config cannot be read, what it references is unknown, so
 * this image's layers and snapshots are kept (a leak until that image is fixed or removed)
 * rather than risk deleting layers the other image runs on.
 */
async function deleteImage(store: ImageStore, row: ImageRow): Promise<void> {
  const config = await readImageConfig(store, row).catch(() => undefined);
  const manifest = await readManifest(store, row.manifestDigest).catch(() => undefined);
  store.index.remove(row.id);
  removeInitLayers(store.root, row.id);
  const keepBlobs = new Set<string>();
  const keepChains = new Set<string>();
  let othersKnown = true;
  for (const other of store.index.list()) {
    keepBlobs.add(other.id).add(other.manifestDigest);
    try {
      const m = await readManifest(store, other.manifestDigest);
      for (const l of m.layers) keepBlobs.add(l.digest);
      const c = await readImageConfig(store, other);
      for (const ch of chainIds(c.rootfs.diff_ids)) keepChains.add(ch);
    } catch (e) {
      othersKnown = false;
      log.warn("keeping the removed image's layers: another image's manifest or config is unreadable", {
        removed: row.id,
        other: other.id,
        err: e,
      });
    }
  }
  const layers = othersKnown ? (manifest?.layers.map((l) => l.digest) ?? []) : [];
  for (const b of [row.id, row.manifestDigest, ...layers])
    if (!keepBlobs.has(b)) await store.content.delete(b);
  if (!othersKnown) return;
  // Top-most first: a snapshot is removable only once nothing stacks on it.
  for (const ch of chainIds(config?.rootfs.diff_ids ?? []).reverse())
    if (!keepChains.has(ch)) await removeSnapshot(store.root, ch);
}

/**
 * `image prune`: removes dangling images (no names), or with `all` every image no container
 * uses. Returns the reports and the bytes reclaimed.
 */
export async function pruneImages(
  store: ImageStore,
  options: { all?: boolean; usedBy?: ImageUsers; match?: (row: ImageRow) => boolean } = {},
): Promise<{ reports: RemoveReport[]; spaceReclaimed: number }> {
  const reports: RemoveReport[] = [];
  let spaceReclaimed = 0;
  for (const row of store.index.list()) {
    if (!options.all && row.names.length > 0) continue;
    if (options.match && !options.match(row)) continue;
    if ((options.usedBy?.(row.id) ?? []).length > 0) continue;
    for (const n of row.names) reports.push({ Untagged: familiarName(n) });
    await deleteImage(store, row);
    reports.push({ Deleted: row.id });
    spaceReclaimed += row.size;
  }
  return { reports, spaceReclaimed };
}
