/**
 * Named volumes: a folder ROOT/volumes/NAME/_data per volume and a row in the engine
 * database. A volume is filled from the image the first time it is mounted over a path that
 * holds data in the image (Docker's behaviour); it outlives the containers that use it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { alreadyExists, conflict, invalidArgument, notFound } from '../../core/errors.js';
import { copyFolderOutOfRoot } from '../fs/in-root.js';
import { type EngineDb, migrate } from '../state/db.js';

/** One volume, in the shape `docker volume inspect` prints. */
export interface Volume {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: 'local';
  Options: Record<string, string>;
  /** Berth's own: made for one container (an image VOLUME); `rm -v` removes it. */
  Anonymous: boolean;
}

interface Row {
  name: string;
  created_at: string;
  labels: string;
  anonymous: number;
  filled: number;
}

const steps = [
  `CREATE TABLE volumes (
     name TEXT PRIMARY KEY,
     created_at TEXT NOT NULL,
     labels TEXT NOT NULL DEFAULT '{}',
     anonymous INTEGER NOT NULL DEFAULT 0,
     filled INTEGER NOT NULL DEFAULT 0
   )`,
];

const validVolumeName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** The volumes of one engine root. */
export class VolumeStore {
  constructor(
    private readonly db: EngineDb,
    private readonly root: string,
  ) {
    migrate(db, 'volume', steps);
  }

  private dataDir(name: string): string {
    return join(this.root, 'volumes', name, '_data');
  }

  private toVolume(r: Row): Volume {
    return {
      Name: r.name,
      Driver: 'local',
      Mountpoint: this.dataDir(r.name),
      CreatedAt: r.created_at,
      Labels: JSON.parse(r.labels) as Record<string, string>,
      Scope: 'local',
      Options: {},
      Anonymous: r.anonymous !== 0,
    };
  }

  /** Creates a volume (a random 64-hex name when none); an existing name is AlreadyExists unless `ifMissing`. */
  create(
    name = '',
    opts: { labels?: Record<string, string>; anonymous?: boolean; ifMissing?: boolean } = {},
  ): Volume {
    const n = name || randomBytes(32).toString('hex');
    if (!validVolumeName.test(n))
      throw invalidArgument(`Invalid volume name "${n}": use [a-zA-Z0-9][a-zA-Z0-9_.-]+`);
    const existing = this.find(n);
    if (existing) {
      if (opts.ifMissing) return existing;
      throw alreadyExists(`Volume "${n}" already exists`);
    }
    // The folder first, then the row: a crash leaves at worst an unused folder, never a row without data.
    const dir = this.dataDir(n);
    if (!existsSync(dir)) {
      const tmp = join(this.root, 'volumes', `.tmp-${randomBytes(6).toString('hex')}`);
      mkdirSync(join(tmp, '_data'), { recursive: true });
      try {
        renameSync(tmp, join(this.root, 'volumes', n));
      } catch {
        rmSync(tmp, { recursive: true, force: true });
      }
    }
    this.db
      .prepare('INSERT OR IGNORE INTO volumes (name, created_at, labels, anonymous) VALUES (?, ?, ?, ?)')
      .run(n, new Date().toISOString(), JSON.stringify(opts.labels ?? {}), Number(opts.anonymous ?? false));
    return this.get(n);
  }

  find(name: string): Volume | undefined {
    const r = this.db.prepare('SELECT * FROM volumes WHERE name = ?').get(name) as Row | undefined;
    return r ? this.toVolume(r) : undefined;
  }

  get(name: string): Volume {
    const v = this.find(name);
    // dockerd's words, which scripts match (`get NAME: no such volume`).
    if (!v) throw notFound(`get ${name}: no such volume`);
    return v;
  }

  list(): Volume[] {
    return (this.db.prepare('SELECT * FROM volumes ORDER BY name').all() as Row[]).map((r) =>
      this.toVolume(r),
    );
  }

  /**
   * Copies the image's files at the container path `inner` of the mounted root filesystem
   * `rootfs` into the volume, once, and only if the volume is still empty (Docker's rule).
   * The path is resolved inside `rootfs` (an image's symlink there never reaches the host).
   */
  fillOnce(name: string, rootfs: string, inner: string): void {
    const r = this.db.prepare('SELECT filled FROM volumes WHERE name = ?').get(name) as
      | { filled: number }
      | undefined;
    if (!r || r.filled) return;
    const dir = this.dataDir(name);
    if (readdirSync(dir).length === 0) copyFolderOutOfRoot(rootfs, inner, dir);
    this.db.prepare('UPDATE volumes SET filled = 1 WHERE name = ?').run(name);
  }

  /** Removes a volume; `inUse` names the containers that still use it (Conflict unless force). */
  remove(name: string, inUse: readonly string[] = [], force = false): void {
    this.get(name);
    if (inUse.length && !force) throw conflict(`remove ${name}: volume is in use - [${inUse.join(', ')}]`);
    this.db.prepare('DELETE FROM volumes WHERE name = ?').run(name);
    rmSync(join(this.root, 'volumes', name), { recursive: true, force: true });
  }
}
