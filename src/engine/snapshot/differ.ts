/**
 * The differ, after containerd's `core/diff` Comparer: an overlay upper folder (an active
 * snapshot's own files) becomes an OCI layer, and the list of changes `docker diff` prints.
 * The other half, applying a layer to a snapshot, is unpack.ts.
 *
 * Overlay records a deleted file as a 0/0 character device and a directory whose lower
 * contents are hidden with the `trusted.overlay.opaque=y` xattr; the layer says the same with
 * `.wh.NAME` and `.wh..wh..opq` entries. Nothing is read through a symlink: folders are
 * walked from open directory fds (Beneath) and files opened with O_NOFOLLOW.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  createReadStream,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  type Stats,
} from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Header, type Pack, pack as tarPack } from 'tar-stream';

type EntryHeader = Partial<Header> & Pick<Header, 'name'>;

import { internal } from '../../core/errors.js';
import { run } from '../../core/exec.js';
import type { Ingester } from '../image/content-store.js';
import { Beneath } from './beneath.js';

const OPAQUE_XATTR = 'trusted.overlay.opaque';
const O_READ = constants.O_RDONLY | constants.O_NOFOLLOW;

/** One line of `docker diff`: added, changed or deleted. */
export interface Change {
  kind: 'A' | 'C' | 'D';
  /** Absolute inside the container: `/etc/passwd`. */
  path: string;
}

/** A layer written to the content store. */
export interface LayerBlob {
  /** The digest of the uncompressed tar (the image config's `diff_ids` entry). */
  diffId: string;
  /** The digest and size of the gzip blob (the manifest's layer descriptor). */
  digest: string;
  size: number;
}

/** What the differ leaves out. */
export interface DiffOptions {
  /**
   * Mount points the runtime made in the upper folder (paths below it, no leading `/`:
   * `etc/hosts`): left out while they are an empty file or folder, as Docker keeps them in
   * a layer of their own that is never committed.
   */
  mountPoints?: ReadonlySet<string>;
  /**
   * The layers below the upper folder, any order. With them, a folder that holds nothing but
   * empty mount points (at any depth) is left out too when it is not below or has its mode
   * there: the runtime made it, or only touched it, for its mounts (Docker's init layer:
   * `/dev`, `/proc`, `/sys`, `/etc` on an image without them). Without them such a folder is
   * kept.
   */
  lowers?: readonly string[];
}

/** One entry of the upper folder, met parents first, names in byte order. */
interface UpperEntry {
  parts: string[];
  st: Stats;
  /** The fd of the folder holding it. */
  dir: number;
  xattrs: Map<string, Buffer>;
}

const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;
const isOpaque = (e: UpperEntry) => e.st.isDirectory() && e.xattrs.get(OPAQUE_XATTR)?.toString() === 'y';

/**
 * The changes in `upper` against the layers below it (`lowers`, any order), as Docker
 * reports them for overlay: a whiteout or an opaque folder is `D`; a name that exists below
 * is `C`, except a folder whose size, mode and time are unchanged (or that holds nothing but
 * the runtime's mount points, which Docker keeps in a layer of its own); anything else `A`. The
 * parent of an added or deleted name is listed as `C` if it was not already. In walk order,
 * as Docker's list is.
 */
export async function changes(
  upper: string,
  lowers: readonly string[],
  options: DiffOptions = {},
): Promise<Change[]> {
  const below = lowers.map((l) => new Beneath(l));
  const out: Change[] = [];
  const changedDirs = new Set<string>();
  const runtimeDirs = ancestorsOf(options.mountPoints);
  try {
    await walkUpper(upper, { ...options, lowers }, async (e) => {
      const path = `/${e.parts.join('/')}`;
      let kind: Change['kind'];
      if (isWhiteout(e.st) || isOpaque(e)) kind = 'D';
      else {
        const lower = findBelow(below, e.parts);
        if (lower?.isDirectory() && e.st.isDirectory() && sameDir(lower, e.st)) return;
        // A folder above a mount point is in Docker's init layer when the image lacks it: changed, not added.
        kind = lower || (e.st.isDirectory() && runtimeDirs.has(e.parts.join('/'))) ? 'C' : 'A';
      }
      if (e.st.isDirectory()) changedDirs.add(path);
      if (kind !== 'C' && e.parts.length > 1) {
        const parent = `/${e.parts.slice(0, -1).join('/')}`;
        if (!changedDirs.has(parent)) {
          out.push({ kind: 'C', path: parent });
          changedDirs.add(parent);
        }
      }
      out.push({ kind, path });
    });
  } finally {
    for (const b of below) b.close();
  }
  return out;
}

/** The folders above the mount points (`etc` for `etc/hosts`), relative as the points are. */
function ancestorsOf(points: ReadonlySet<string> | undefined): Set<string> {
  const out = new Set<string>();
  for (const p of points ?? []) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) out.add(parts.slice(0, i).join('/'));
  }
  return out;
}

/**
 * Decides which entries of an upper folder are the runtime's alone, so neither `diff` nor a
 * layer shows them: empty mount points, and folders above them holding nothing else that are
 * not below (or have their mode there). Only folders above a mount point are ever read.
 */
class RuntimeOnly {
  private readonly points: ReadonlySet<string>;
  private readonly dirs: Set<string>;
  private readonly below: Beneath[] | undefined;

  constructor(options: DiffOptions) {
    this.points = options.mountPoints ?? new Set();
    this.dirs = ancestorsOf(options.mountPoints);
    this.below = options.lowers?.map((l) => new Beneath(l));
  }

  /** Whether the entry `rel` (with `st`, reachable at `path`) is left out with all below it. */
  leftOut(rel: string, st: Stats, path: string): boolean {
    if (this.points.has(rel) && isEmpty(st, path)) return true;
    if (!this.below || !st.isDirectory() || !this.dirs.has(rel) || !this.holdsOnlyMounts(rel, path))
      return false;
    const lower = findBelow(this.below, rel.split('/'));
    return !lower || (lower.isDirectory() && lower.mode === st.mode);
  }

  private holdsOnlyMounts(rel: string, path: string): boolean {
    const names = readdirSync(path);
    return (
      names.length > 0 &&
      names.every((n) => {
        const child = `${rel}/${n}`;
        const p = `${path}/${n}`;
        let st: Stats;
        try {
          st = lstatSync(p);
        } catch {
          return false;
        }
        if (this.points.has(child) && isEmpty(st, p)) return true;
        // lstat: a symlink is never followed into, only a real folder is read.
        return st.isDirectory() && this.dirs.has(child) && this.holdsOnlyMounts(child, p);
      })
    );
  }

  close(): void {
    for (const b of this.below ?? []) b.close();
  }
}

/**
 * The entries of `upper` a layer leaves out (see {@link DiffOptions}), relative to it and
 * deepest first, so a caller can remove them in order (each folder is empty by its turn).
 */
export async function runtimeOnlyEntries(upper: string, options: DiffOptions): Promise<string[]> {
  const out: string[] = [];
  const addTree = (rel: string, path: string) => {
    if (lstatSync(path).isDirectory())
      for (const n of readdirSync(path)) addTree(`${rel}/${n}`, `${path}/${n}`);
    out.push(rel);
  };
  // Only names and stats are read: no getfattr run.
  await walkUpper(upper, options, async () => {}, { skipped: addTree, xattrs: false });
  return out.sort((a, b) => b.split('/').length - a.split('/').length);
}

function sameDir(a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mode === b.mode && Math.floor(a.mtimeMs) === Math.floor(b.mtimeMs);
}

/** The first lower layer's entry at `parts`, reached without following symlinks. */
function findBelow(below: Beneath[], parts: string[]): Stats | undefined {
  for (const tree of below) {
    const dir = tree.find(parts.slice(0, -1));
    if (dir === undefined) continue;
    try {
      return lstatSync(tree.at(dir, parts[parts.length - 1]!));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return undefined;
}

/**
 * The upper folder as an uncompressed OCI layer tar: modes, owners, times, symlinks, hard
 * links (one file per inode, later names linked to the first), device nodes, fifos and
 * xattrs (overlay's own `trusted.overlay.*` left out; values that are not UTF-8 text are
 * left out too, as a pax header holds text) are kept; sockets are skipped.
 */
export function layerTar(upper: string, options: DiffOptions = {}): Readable {
  const pack = tarPack();
  const links = new Map<string, string>();
  const add = async (e: UpperEntry) => {
    const parent = e.parts.slice(0, -1);
    const base = e.parts[e.parts.length - 1]!;
    const name = e.parts.join('/');
    const mtime = e.st.mtime;
    if (isWhiteout(e.st)) {
      await entry(pack, { name: [...parent, `.wh.${base}`].join('/'), mode: 0o600, mtime, size: 0 });
      return;
    }
    const common = { mode: e.st.mode & 0o7777, uid: e.st.uid, gid: e.st.gid, mtime, pax: paxOf(e.xattrs) };
    if (e.st.isDirectory()) {
      await entry(pack, { ...common, name: `${name}/`, type: 'directory' });
      if (isOpaque(e)) await entry(pack, { name: `${name}/.wh..wh..opq`, mode: 0o600, mtime, size: 0 });
      return;
    }
    if (e.st.nlink > 1 && !e.st.isSymbolicLink()) {
      const id = `${e.st.dev}:${e.st.ino}`;
      const first = links.get(id);
      if (first !== undefined) {
        await entry(pack, { ...common, name, type: 'link', linkname: first, size: 0 });
        return;
      }
      links.set(id, name);
    }
    const path = `/proc/self/fd/${e.dir}/${base}`;
    if (e.st.isFile()) await fileEntry(pack, { ...common, name }, path);
    else if (e.st.isSymbolicLink())
      await entry(pack, { ...common, name, type: 'symlink', linkname: readlinkSync(path) });
    else if (e.st.isFIFO()) await entry(pack, { ...common, name, type: 'fifo' });
    else if (e.st.isCharacterDevice() || e.st.isBlockDevice()) {
      const type = e.st.isCharacterDevice() ? 'character-device' : 'block-device';
      await entry(pack, { ...common, name, type, devmajor: major(e.st.rdev), devminor: minor(e.st.rdev) });
    }
  };
  walkUpper(upper, options, add).then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err as Error),
  );
  return pack as unknown as Readable;
}

/**
 * Writes the layer of `upper` into the content store gzip-compressed, hashing the tar on the
 * way for its diff ID.
 */
export async function writeLayer(
  upper: string,
  content: Ingester,
  options: DiffOptions = {},
): Promise<LayerBlob> {
  const tar = layerTar(upper, options);
  const hash = createHash('sha256');
  // zlib is loaded only to write a layer: `run` and `diff` load this module but never do.
  const { createGzip } = await import('node:zlib');
  const gzip = createGzip();
  const tee = new PassThrough({ highWaterMark: 1 << 20 });
  tee.on('data', (b: Buffer) => hash.update(b));
  const compressing = pipeline(tar, tee, gzip);
  const [blob] = await Promise.all([content.ingest(gzip), compressing]);
  return { diffId: `sha256:${hash.digest('hex')}`, digest: blob.digest, size: blob.size };
}

/** Adds one bodiless entry, waiting for the pack to take it. */
function entry(pack: Pack, header: EntryHeader): Promise<void> {
  return new Promise((resolve, reject) => {
    // An empty body, not none: an entry of type file without one waits for a body forever.
    pack.entry(header, Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
  });
}

/** Adds a regular file, read from an O_NOFOLLOW fd, at the size it had when opened. */
async function fileEntry(pack: Pack, header: EntryHeader, path: string): Promise<void> {
  const fd = openSync(path, O_READ);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw internal(`"${header.name}" changed while the layer was being written`);
    if (st.size === 0) {
      await entry(pack, { ...header, size: 0 });
      return;
    }
    const sink = pack.entry({ ...header, size: st.size });
    await pipeline(createReadStream('', { fd, autoClose: false, start: 0, end: st.size - 1 }), sink);
  } finally {
    closeSync(fd);
  }
}

function paxOf(xattrs: Map<string, Buffer>): Record<string, string> | undefined {
  let pax: Record<string, string> | undefined;
  for (const [k, v] of xattrs) {
    if (k.startsWith('trusted.overlay.')) continue;
    const text = v.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(v)) continue;
    pax ??= {};
    pax[`SCHILY.xattr.${k}`] = text;
  }
  return pax;
}

// Linux's dev_t encoding (glibc's gnu_dev_major/minor).
const major = (rdev: number) => Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
const minor = (rdev: number) => Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));

/**
 * Visits every entry below `upper` (not `upper` itself), a folder before its contents, names
 * sorted. Folders are opened through Beneath, so a folder swapped for a symlink during the
 * walk is refused instead of followed. What the layer leaves out (RuntimeOnly) is not visited
 * but told to `how.skipped`; `how.xattrs: false` spares reading the extended attributes.
 */
async function walkUpper(
  upper: string,
  options: DiffOptions,
  visit: (e: UpperEntry) => Promise<void>,
  how: { skipped?: (rel: string, path: string) => void; xattrs?: boolean } = {},
): Promise<void> {
  const xattrs = how.xattrs === false ? new Map<string, Map<string, Buffer>>() : await readXattrs(upper);
  const tree = new Beneath(upper);
  const runtimeOnly = new RuntimeOnly(options);
  const refuse = (why: string) => internal(`Cannot read the container's changes: ${why}`);
  try {
    const walk = async (parts: string[]): Promise<void> => {
      const dir = tree.dir(parts, false, refuse);
      const names = readdirSync(`/proc/self/fd/${dir}`).sort();
      for (const n of names) {
        tree.trim();
        // The fd may have been closed by trim(): look it up again.
        const fd = tree.dir(parts, false, refuse);
        const child = [...parts, n];
        let st: Stats;
        try {
          st = lstatSync(tree.at(fd, n));
        } catch (e) {
          // Removed while we walk (a running container): it is not part of the layer.
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw e;
        }
        const rel = child.join('/');
        if (runtimeOnly.leftOut(rel, st, tree.at(fd, n))) {
          how.skipped?.(rel, tree.at(fd, n));
          continue;
        }
        await visit({ parts: child, st, dir: fd, xattrs: xattrs.get(rel) ?? new Map() });
        if (st.isDirectory()) await walk(child);
      }
    };
    await walk([]);
  } finally {
    tree.close();
    runtimeOnly.close();
  }
}

function isEmpty(st: Stats, path: string): boolean {
  if (st.isFile()) return st.size === 0;
  return st.isDirectory() && readdirSync(path).length === 0;
}

/** Every xattr below `root`, by path relative to it, in one `getfattr` run (never following symlinks). */
async function readXattrs(root: string): Promise<Map<string, Map<string, Buffer>>> {
  const r = await run(
    'getfattr',
    ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root],
    {
      check: false,
    },
  );
  if (r.code !== 0) throw internal(`Cannot read the extended attributes under ${root}: ${r.stderr.trim()}`);
  const out = new Map<string, Map<string, Buffer>>();
  let current: Map<string, Buffer> | undefined;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      // getfattr escapes unprintable bytes and backslashes as \ooo octal.
      const raw = line
        .slice('# file: '.length)
        .replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
      // Escaped bytes are one char each; raw UTF-8 (under a UTF-8 locale) was decoded already.
      const path = /[^\x00-\xff]/.test(raw) ? raw : Buffer.from(raw, 'latin1').toString('utf8');
      const rel = path === root ? '' : path.slice(root.length + 1);
      current = new Map();
      out.set(rel, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) continue;
    const value = line.slice(eq + 1);
    current.set(
      line.slice(0, eq),
      value.startsWith('0x') ? Buffer.from(value.slice(2), 'hex') : Buffer.alloc(0),
    );
  }
  return out;
}
