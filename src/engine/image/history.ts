/**
 * `history`: Docker's `GET /images/{name}/history` rows, newest first. Each config history
 * entry that made a layer is paired with the next layer (its size is the unpacked layer's,
 * as Docker reports uncompressed sizes; the blob's when not unpacked); the top row carries
 * the image's ID and names, the others `<missing>` as Docker shows them for pulled images.
 * A config without history (an import, say) gets one row per layer.
 */
import { du } from '../container/system.js';
import { chainIds, snapshotterOf } from '../snapshot/snapshots.js';
import { findImage, type ImageStore, readImageConfig, readManifest } from './image-store.js';
import type { HistoryEntry } from './oci.js';

/** One row, with Docker's API field names. */
export interface HistoryRow {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export async function imageHistory(store: ImageStore, ref: string): Promise<HistoryRow[]> {
  const row = findImage(store, ref);
  const config = await readImageConfig(store, row);
  const manifest = await readManifest(store, row.manifestDigest);
  const chains = chainIds(config.rootfs.diff_ids);
  const layerSize = (i: number) => {
    const dir = snapshotterOf(store.root).layerDir(chains[i]!);
    const size = du(dir);
    return size > 0 ? size : (manifest.layers[i]?.size ?? 0);
  };
  const history: HistoryEntry[] =
    config.history && config.history.length > 0
      ? config.history
      : manifest.layers.map(() => ({ created: config.created ?? row.created }));
  let layer = 0;
  const rows = history.map((h) => ({
    Id: '<missing>',
    Created: Math.floor(Date.parse(h.created ?? row.created) / 1000) || 0,
    CreatedBy: h.created_by ?? '',
    Tags: null as string[] | null,
    Size: h.empty_layer ? 0 : layerSize(layer++),
    Comment: h.comment ?? '',
  }));
  rows.reverse();
  if (rows[0]) {
    rows[0].Id = row.id;
    rows[0].Tags = row.names.length ? row.names : null;
  }
  return rows;
}
