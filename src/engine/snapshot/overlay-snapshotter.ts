import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { alreadyExists, failedPrecondition, notFound, unlessNotFound } from '../../core/errors.js';
import {
  type CommitOptions,
  type Mount,
  OWNER_PID,
  type PrepareOptions,
  type SnapshotInfo,
  type SnapshotKind,
  type Snapshotter,
  type SnapshotUsage,
} from './snapshotter.js';

export { OWNER_PID };

const INFO = 'info.json';
/** Written into an active snapshot's folder before the rename that commits it. */
const COMMIT_INFO = 'commit.json';
const DIGEST = /^sha256:([a-f0-9]{64})$/;

/**
 * Snapshots as overlayfs layers, one folder each under `dir` (ROOT/snapshots):
 * - committed ones named `sha256:<hex>` (layer chain IDs) in `<hex>/`, other names in
 *   `n-<sha256 of name>/`; active snapshots and views in `k-<sha256 of key>/`;
 * - each holds `fs/` (the layer's own files, overlay whiteouts included), `info.json`, and for
 *   active snapshots `work/` (overlay's work folder).
 *
 * Each change is made in a `tmp-<pid>-...` folder and renamed into place, so a folder's
 * presence means it is whole; commit writes the committed record into the active folder
 * first and renames the folder, so a crash leaves the key active or the name committed.
 * Committed folders made before the snapshotter existed (chain-ID folders without
 * `info.json`) read as committed with an unknown parent until `setParent` records it.
 */
export class OverlaySnapshotter implements Snapshotter {
  constructor(readonly dir: string) {}

  /** The folder of a snapshot (it may not exist). */
  folderOf(key: string, kind: 'committed' | 'active'): string {
    if (kind === 'committed') {
      const m = DIGEST.exec(key);
      if (m) return join(this.dir, m[1]!);
      return join(this.dir, `n-${sha(key)}`);
    }
    return join(this.dir, `k-${sha(key)}`);
  }

  /** The folder of a committed snapshot's files, which are one overlay lower directory. */
  layerDir(name: string): string {
    return join(this.folderOf(name, 'committed'), 'fs');
  }

  async stat(key: string): Promise<SnapshotInfo> {
    const found = await this.find(key);
    if (!found) throw notFound(`Snapshot "${key}" does not exist`);
    return found.info;
  }

  async list(): Promise<SnapshotInfo[]> {
    const out: SnapshotInfo[] = [];
    for (const n of await this.entries()) {
      if (n.startsWith('tmp-')) continue;
      const info = await this.readFolder(join(this.dir, n), n.startsWith('k-') ? 'active' : 'committed', n);
      if (info) out.push(info);
    }
    return out;
  }

  async usage(key: string): Promise<SnapshotUsage> {
    const found = await this.find(key);
    if (!found) throw notFound(`Snapshot "${key}" does not exist`);
    return diskUsage(join(found.folder, 'fs'));
  }

  async mounts(key: string): Promise<Mount[]> {
    const found = await this.find(key);
    if (!found || found.info.kind === 'committed')
      throw notFound(`Snapshot "${key}" is not an active snapshot or a view`);
    const lowers = await this.chain(found.info.parent);
    const own = join(found.folder, 'fs');
    if (found.info.kind === 'view') {
      if (lowers.length === 0) return [bind(own, true)];
      if (lowers.length === 1) return [bind(lowers[0]!, true)];
      return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`] }];
    }
    if (lowers.length === 0) return [bind(own, false)];
    // A crash during commit may have removed the work folder of a snapshot that stayed active.
    const work = join(found.folder, 'work');
    await fs.mkdir(work, { recursive: true });
    return [
      {
        type: 'overlay',
        source: 'overlay',
        options: [`lowerdir=${lowers.join(':')}`, `upperdir=${own}`, `workdir=${work}`],
      },
    ];
  }

  prepare(key: string, parent: string, options: PrepareOptions = {}): Promise<Mount[]> {
    return this.create('active', key, parent, options);
  }

  view(key: string, parent: string, options: PrepareOptions = {}): Promise<Mount[]> {
    return this.create('view', key, parent, options);
  }

  async commit(name: string, key: string, options: CommitOptions = {}): Promise<void> {
    const found = await this.find(key);
    if (!found) throw notFound(`Snapshot "${key}" does not exist`);
    if (found.info.kind !== 'active')
      throw failedPrecondition(
        `Snapshot "${key}" is ${found.info.kind}; only an active snapshot can be committed`,
      );
    if (await this.find(name)) throw alreadyExists(`Snapshot "${name}" already exists`);
    const parent = options.parent ?? found.info.parent;
    if (parent) await this.requireCommitted(parent);
    const labels = { ...found.info.labels, ...options.labels };
    delete labels[OWNER_PID];
    const info: SnapshotInfo = {
      kind: 'committed',
      name,
      parent,
      labels,
      created: new Date().toISOString(),
    };
    await writeAtomic(join(found.folder, COMMIT_INFO), JSON.stringify(info));
    await fs.rm(join(found.folder, 'work'), { recursive: true, force: true });
    try {
      await fs.rename(found.folder, this.folderOf(name, 'committed'));
    } catch (e) {
      await fs.rm(join(found.folder, COMMIT_INFO), { force: true });
      if (isTaken(e)) throw alreadyExists(`Snapshot "${name}" already exists`, e);
      throw e;
    }
    await fs.rename(
      join(this.folderOf(name, 'committed'), COMMIT_INFO),
      join(this.folderOf(name, 'committed'), INFO),
    );
  }

  async remove(key: string): Promise<void> {
    const found = await this.find(key);
    if (!found) throw notFound(`Snapshot "${key}" does not exist`);
    if (found.info.kind === 'committed') {
      const child = (await this.list()).find((s) => s.parent === key);
      if (child) throw failedPrecondition(`Snapshot "${key}" is the parent of "${child.name}"`);
    }
    const trash = join(this.dir, `tmp-rm-${process.pid}-${randomBytes(6).toString('hex')}`);
    // Renamed first, so a half-deleted snapshot is never seen as one.
    try {
      await fs.rename(found.folder, trash);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw notFound(`Snapshot "${key}" does not exist`, e);
      throw e;
    }
    await fs.rm(trash, { recursive: true, force: true });
  }

  async cleanup(): Promise<void> {
    for (const n of await this.entries()) {
      const m = /^tmp-(?:rm-)?(\d+)-/.exec(n);
      if (m && !processAlive(Number(m[1]))) await fs.rm(join(this.dir, n), { recursive: true, force: true });
    }
    for (const s of await this.list()) {
      const owner = s.labels[OWNER_PID];
      if (s.kind !== 'committed' && owner && !processAlive(Number(owner))) {
        await unlessNotFound(this.remove(s.name));
      }
    }
  }

  /**
   * Records the parent of a committed snapshot that has none recorded: a chain-ID folder
   * unpacked before the snapshotter kept records, or a layer a pull unpacked in parallel with
   * the layers below it and committed without a parent. A recorded parent is never changed.
   */
  async setParent(name: string, parent: string): Promise<void> {
    const folder = this.folderOf(name, 'committed');
    const info = await this.readFolder(folder, 'committed', '');
    if (!info) throw notFound(`Snapshot "${name}" does not exist`);
    if (info.parent || !parent) return;
    await writeAtomic(join(folder, INFO), JSON.stringify({ ...info, name, parent }));
  }

  private async create(
    kind: SnapshotKind,
    key: string,
    parent: string,
    options: PrepareOptions,
  ): Promise<Mount[]> {
    if (key === '') throw failedPrecondition('A snapshot key cannot be empty');
    if (parent) await this.requireCommitted(parent);
    if (await this.find(key)) throw alreadyExists(`Snapshot "${key}" already exists`);
    await fs.mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      await fs.mkdir(join(tmp, 'fs'), { recursive: true, mode: 0o755 });
      if (kind === 'active') await fs.mkdir(join(tmp, 'work'), { mode: 0o700 });
      const info: SnapshotInfo = {
        kind,
        name: key,
        parent,
        labels: options.labels ?? {},
        created: new Date().toISOString(),
      };
      // The folder takes its name only by the rename below: its record needs no rename of its
      // own (one inode less per container on the data root), only to be flushed before it.
      await writeFlushed(join(tmp, INFO), JSON.stringify(info));
      await fs.rename(tmp, this.folderOf(key, 'active'));
    } catch (e) {
      await fs.rm(tmp, { recursive: true, force: true });
      if (isTaken(e)) throw alreadyExists(`Snapshot "${key}" already exists`, e);
      throw e;
    }
    return this.mounts(key);
  }

  private async requireCommitted(parent: string): Promise<void> {
    const p = await this.find(parent);
    if (!p) throw notFound(`Parent snapshot "${parent}" does not exist`);
    if (p.info.kind !== 'committed')
      throw failedPrecondition(`Parent snapshot "${parent}" is ${p.info.kind}, not committed`);
  }

  /** The lower directories of a snapshot on `parent`, top-most first (overlay's order). */
  private async chain(parent: string): Promise<string[]> {
    const dirs: string[] = [];
    const seen = new Set<string>();
    for (let p = parent; p; ) {
      if (seen.has(p)) throw failedPrecondition(`Snapshot "${parent}" has a parent loop at "${p}"`);
      seen.add(p);
      const folder = this.folderOf(p, 'committed');
      const info = await this.readFolder(folder, 'committed', '');
      if (!info) throw notFound(`Parent snapshot "${p}" does not exist`);
      dirs.push(join(folder, 'fs'));
      p = info.parent;
    }
    return dirs;
  }

  private async find(key: string): Promise<{ folder: string; info: SnapshotInfo } | undefined> {
    for (const kind of ['active', 'committed'] as const) {
      const folder = this.folderOf(key, kind);
      const info = await this.readFolder(folder, kind, key);
      if (info) return { folder, info };
    }
    return undefined;
  }

  /** A snapshot folder's record, or undefined when it is not there. */
  private async readFolder(
    folder: string,
    as: 'committed' | 'active',
    key: string,
  ): Promise<SnapshotInfo | undefined> {
    if (as === 'committed') {
      // A commit renamed the folder but did not get to rename its record: that record is the one.
      const pending = readJson(join(folder, COMMIT_INFO));
      if (pending) return pending;
    }
    const info = readJson(join(folder, INFO));
    if (info) return info;
    if (as === 'active') return undefined;
    // A chain-ID folder unpacked before the snapshotter kept records.
    const m = /([a-f0-9]{64})$/.exec(folder);
    // Looked for first: a new container's key is looked up as committed too, and misses.
    const files = join(folder, 'fs');
    const st = m && existsSync(files) ? await fs.stat(files).catch(() => undefined) : undefined;
    if (!st || !m) return undefined;
    return {
      kind: 'committed',
      name: key || `sha256:${m[1]}`,
      parent: '',
      labels: {},
      created: st.mtime.toISOString(),
    };
  }

  private async entries(): Promise<string[]> {
    try {
      return await fs.readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }
}

/**
 * Puts plain folders below an active snapshot's own layers (a `--rootfs` folder used as a
 * container's image): the snapshot's mounts as one overlay with `dirs` as its lowest layers.
 */
export function withLowerDirs(mounts: readonly Mount[], dirs: readonly string[]): Mount[] {
  if (dirs.length === 0) return [...mounts];
  const m = mounts[0];
  if (mounts.length !== 1 || !m) throw failedPrecondition('Expected one mount of an active snapshot');
  if (m.type === 'overlay') {
    const options = m.options.map((o) => (o.startsWith('lowerdir=') ? `${o}:${dirs.join(':')}` : o));
    return [{ ...m, options }];
  }
  if (m.options.includes('ro')) throw failedPrecondition('A view cannot take lower folders');
  // An active snapshot with no parent is a bind mount of its `fs`; its work folder is beside it.
  const work = join(dirname(m.source), 'work');
  return [
    {
      type: 'overlay',
      source: 'overlay',
      options: [`lowerdir=${dirs.join(':')}`, `upperdir=${m.source}`, `workdir=${work}`],
    },
  ];
}

/** The upper folder and the lower folders (top-most first) of an active snapshot's mounts. */
export function overlayDirs(mounts: readonly Mount[]): { upper: string; lowers: string[] } {
  const m = mounts[0];
  if (mounts.length !== 1 || !m) throw failedPrecondition('Expected one mount of an active snapshot');
  if (m.type === 'bind') return { upper: m.source, lowers: [] };
  const opt = (name: string) => m.options.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1);
  const upper = opt('upperdir');
  if (!upper) throw failedPrecondition('The mount is not of an active snapshot: it has no upper folder');
  return { upper, lowers: (opt('lowerdir') ?? '').split(':').filter((d) => d !== '') };
}

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function bind(source: string, readOnly: boolean): Mount {
  return { type: 'bind', source, options: [readOnly ? 'ro' : 'rw', 'rbind'] };
}

function isTaken(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'EEXIST' || code === 'ENOTEMPTY';
}

/**
 * A snapshot record, or undefined when the file is not there. Read synchronously, and looked
 * for first: a container's create and start look several records up (the key, its parent
 * chain, a commit record that is nearly always missing), and through libuv's pool each read
 * cost about 0.1 ms of CPU (open, stat, read, close) and each miss a thrown error.
 */
function readJson(file: string): SnapshotInfo | undefined {
  if (!existsSync(file)) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    // Removed, or its folder renamed (a commit), since the look.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR')
      return undefined;
    throw e;
  }
  return JSON.parse(text) as SnapshotInfo;
}

/** Writes `text` to `file` and flushes it to the disk. */
async function writeFlushed(file: string, text: string): Promise<void> {
  const fh = await fs.open(file, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes a file whole or not at all: a temp file, flushed, renamed over the name. */
async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFlushed(tmp, text);
  await fs.rename(tmp, file);
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Bytes and inodes below `dir`, hard links counted once, symlinks never followed. */
async function diskUsage(dir: string): Promise<SnapshotUsage> {
  const seen = new Set<string>();
  let size = 0;
  let inodes = 0;
  const visit = async (path: string): Promise<void> => {
    const st = await fs.lstat(path);
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) return;
    seen.add(id);
    inodes++;
    size += st.blocks * 512;
    if (!st.isDirectory()) return;
    for (const n of await fs.readdir(path)) await visit(join(path, n));
  };
  await visit(dir);
  return { size, inodes };
}
