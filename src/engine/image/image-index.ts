import { invalidArgument, notFound } from '../../core/errors.js';
import { type EngineDb, migrate } from '../state/db.js';
import { familiarName, normalizeReference, parseReference, repositoryOf } from './reference.js';

/** One image in the index: its ID (config digest) and the manifest that describes it. */
export interface ImageRow {
  id: string;
  manifestDigest: string;
  /** Total size of its layers in bytes (uncompressed where known). */
  size: number;
  created: string;
  /** Full names (`docker.io/library/busybox:latest`) pointing at it. */
  names: string[];
  /** `repository@sha256:...` digests it is known by in registries. */
  digests: string[];
}

const schema = [
  `CREATE TABLE images (
     id TEXT PRIMARY KEY,
     manifest_digest TEXT NOT NULL,
     size INTEGER NOT NULL,
     created TEXT NOT NULL,
     added INTEGER NOT NULL
   )`,
  `CREATE TABLE image_names (
     name TEXT PRIMARY KEY,
     image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
   )`,
  `CREATE TABLE image_digests (
     repo_digest TEXT PRIMARY KEY,
     image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
   )`,
  'CREATE INDEX image_names_by_image ON image_names(image_id)',
];

/**
 * The name -> image index in the engine database. Blobs live in the content store; this only
 * records which manifest is an image and which names point at it, in transactions, so a
 * concurrent tag or a `kill -9` never leaves a name pointing nowhere.
 */
export class ImageIndex {
  constructor(private readonly db: EngineDb) {
    migrate(db, 'image', schema);
  }

  /** Adds or refreshes an image and points `names` at it (moving them from any other image). */
  put(
    image: { id: string; manifestDigest: string; size: number; created: string },
    names: string[],
    repoDigests: string[] = [],
  ): void {
    const tx = this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO images (id, manifest_digest, size, created, added) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET manifest_digest = excluded.manifest_digest, size = excluded.size`,
        )
        .run(image.id, image.manifestDigest, image.size, image.created, Date.now());
      const tag = this.db.prepare('INSERT OR REPLACE INTO image_names (name, image_id) VALUES (?, ?)');
      for (const n of names) tag.run(n, image.id);
      const dig = this.db.prepare(
        'INSERT OR REPLACE INTO image_digests (repo_digest, image_id) VALUES (?, ?)',
      );
      for (const d of repoDigests) dig.run(d, image.id);
    });
    tx.immediate();
  }

  /** Finds an image by full ID, unique ID prefix (at least 4 hex digits), name, or repo@digest. */
  find(ref: string): ImageRow | undefined {
    const byId = this.findById(ref);
    if (byId) return byId;
    let full: string;
    try {
      full = normalizeReference(ref);
    } catch (e) {
      if (/^[a-f0-9]{4,64}$/.test(ref)) return undefined;
      throw e;
    }
    const r = parseReference(ref);
    if (r.digest) {
      const row = this.db
        .prepare('SELECT image_id FROM image_digests WHERE repo_digest = ?')
        .get(`${repositoryOf(r)}@${r.digest}`) as { image_id: string } | undefined;
      if (row) return this.get(row.image_id);
      const byManifest = this.db.prepare('SELECT id FROM images WHERE manifest_digest = ?').get(r.digest) as
        | { id: string }
        | undefined;
      return byManifest ? this.get(byManifest.id) : undefined;
    }
    const row = this.db.prepare('SELECT image_id FROM image_names WHERE name = ?').get(full) as
      | { image_id: string }
      | undefined;
    return row ? this.get(row.image_id) : undefined;
  }

  private findById(ref: string): ImageRow | undefined {
    const m = /^(?:sha256:)?([a-f0-9]{4,64})$/.exec(ref);
    if (!m) return undefined;
    const rows = this.db.prepare('SELECT id FROM images WHERE id LIKE ?').all(`sha256:${m[1]}%`) as {
      id: string;
    }[];
    if (rows.length > 1)
      throw invalidArgument(`Image ID prefix "${ref}" is ambiguous: it matches ${rows.length} images`);
    return rows.length === 1 ? this.get(rows[0]!.id) : undefined;
  }

  get(id: string): ImageRow | undefined {
    const row = this.db
      .prepare('SELECT id, manifest_digest, size, created FROM images WHERE id = ?')
      .get(id) as { id: string; manifest_digest: string; size: number; created: string } | undefined;
    if (!row) return undefined;
    return this.rowOf(row);
  }

  private rowOf(row: { id: string; manifest_digest: string; size: number; created: string }): ImageRow {
    const names = (
      this.db.prepare('SELECT name FROM image_names WHERE image_id = ? ORDER BY name').all(row.id) as {
        name: string;
      }[]
    ).map((r) => r.name);
    const digests = (
      this.db
        .prepare('SELECT repo_digest FROM image_digests WHERE image_id = ? ORDER BY repo_digest')
        .all(row.id) as {
        repo_digest: string;
      }[]
    ).map((r) => r.repo_digest);
    return {
      id: row.id,
      manifestDigest: row.manifest_digest,
      size: row.size,
      created: row.created,
      names,
      digests,
    };
  }

  list(): ImageRow[] {
    const rows = this.db
      .prepare('SELECT id, manifest_digest, size, created FROM images ORDER BY added DESC')
      .all() as {
      id: string;
      manifest_digest: string;
      size: number;
      created: string;
    }[];
    return rows.map((r) => this.rowOf(r));
  }

  /** Points a new name at an existing image. */
  tag(imageId: string, name: string): string {
    const full = normalizeReference(name);
    if (parseReference(name).digest) throw invalidArgument(`Cannot tag with a digest reference "${name}"`);
    if (!this.get(imageId)) throw notFound(`No such image: ${imageId}`);
    this.db.prepare('INSERT OR REPLACE INTO image_names (name, image_id) VALUES (?, ?)').run(full, imageId);
    return full;
  }

  /** Removes one name; returns whether the image has no names left. */
  untag(name: string): { imageId: string; orphaned: boolean } {
    const full = normalizeReference(name);
    const tx = this.db.transaction(() => {
      const row = this.db.prepare('SELECT image_id FROM image_names WHERE name = ?').get(full) as
        | { image_id: string }
        | undefined;
      if (!row) throw notFound(`No such image: ${familiarName(full)}`);
      this.db.prepare('DELETE FROM image_names WHERE name = ?').run(full);
      const left = this.db
        .prepare('SELECT COUNT(*) AS n FROM image_names WHERE image_id = ?')
        .get(row.image_id) as { n: number };
      return { imageId: row.image_id, orphaned: left.n === 0 };
    });
    return tx.immediate();
  }

  /** Removes one `repository@digest` reference of an image. */
  removeDigest(repoDigest: string): void {
    this.db.prepare('DELETE FROM image_digests WHERE repo_digest = ?').run(repoDigest);
  }

  /** Deletes an image record and its names. */
  remove(id: string): void {
    const r = this.db.prepare('DELETE FROM images WHERE id = ?').run(id);
    if (r.changes === 0) throw notFound(`No such image: ${id}`);
  }
}
