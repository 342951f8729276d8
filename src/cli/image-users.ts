import { openEngineDb } from '../engine/state/db.js';

/**
 * Which containers use an image, for `rmi` and `image prune`. The CLI composes the image
 * store with the container store here so that neither reads the other's tables.
 */
export function imageUsers(root: string): (imageId: string) => string[] {
  return (imageId) => {
    const db = openEngineDb(root);
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'containers'").get();
    if (!has) return [];
    const rows = db
      .prepare("SELECT id FROM containers WHERE json_extract(config, '$.imageId') = ?")
      .all(imageId) as { id: string }[];
    return rows.map((r) => r.id);
  };
}
