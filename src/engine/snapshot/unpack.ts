import {
  closeSync,
  createWriteStream,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Extract, type Header, extract as tarExtract } from 'tar-stream';
import { invalidArgument } from '../../core/errors.js';
import { run } from '../../core/exec.js';
import { Beneath } from './beneath.js';
import { type EntryMeta, TarMeta } from './tar-meta.js';

/** What unpacking a layer did, for the caller's records. */
export interface UnpackResult {
  entries: number;
  whiteouts: number;
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
/** Longer entry names are refused: Linux paths stop at PATH_MAX, and walking one costs its length squared. */
const MAX_NAME = 4096;
/** One entry of a tar stream: its header and its body. */
type Entry = Extract extends AsyncIterable<infer S> ? S : never;
function refuse(name: string, why: string): Error {
  return invalidArgument(`Refusing layer entry "${name}": ${why}`);
}

/**
 * The extended attributes a layer may carry, as Docker keeps them: file capabilities
 * (`security.capability`), `user.*` and `trusted.*` (we unpack as root). overlayfs' own
 * `trusted.overlay.*` would change how layers stack, so a layer holding one is refused.
 * Others (`security.selinux`, ACLs) describe the machine that built the layer; Docker
 * drops them too.
 */
export function keptXattrs(name: string, xattrs: ReadonlyMap<string, Buffer>): [string, Buffer][] {
  const kept: [string, Buffer][] = [];
  for (const [k, v] of xattrs) {
    if (k.startsWith('trusted.overlay.')) throw refuse(name, `the xattr "${k}" belongs to overlayfs`);
    if (k === 'security.capability' || k.startsWith('user.') || k.startsWith('trusted.')) kept.push([k, v]);
  }
  return kept;
}

/** A name for setfattr's restore format: everything but plain characters as `\ooo` octal. */
const restoreName = (path: string) =>
  [...Buffer.from(path)]
    .map((b) =>
      /[A-Za-z0-9._/-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `\\${b.toString(8).padStart(3, '0')}`,
    )
    .join('');

/**
 * Sets xattrs with one setfattr (Node has no setxattr). `path` is built from a directory fd
 * (Beneath.forChild); `-h` sets them on a final symlink itself rather than its target.
 */
async function setXattrs(path: string, xattrs: [string, Buffer][]): Promise<void> {
  if (xattrs.length === 0) return;
  const lines = xattrs.map(([k, v]) => `${k}=0s${v.toString('base64')}`);
  await run('setfattr', ['-h', '--restore=-'], {
    input: `# file: ${restoreName(path)}\n${lines.join('\n')}\n\n`,
  });
}

/**
 * The path components of a tar entry name, relative to the layer root. A leading `/` or
 * `./` is dropped (as Docker does), and any `..` component refuses the whole layer: a layer
 * has no business naming a path above its root.
 */
export function entryParts(name: string): string[] {
  if (name.length > MAX_NAME) throw refuse(`${name.slice(0, 64)}...`, `the name is over ${MAX_NAME} bytes`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw refuse(name, 'the path escapes the layer root ("..")');
  return parts;
}

/**
 * Unpacks one layer (an uncompressed tar stream) into the empty folder `dest`, converting OCI
 * whiteouts into overlayfs form so layers stack as overlay lower directories: `.wh.NAME`
 * becomes a 0/0 character device, `.wh..wh..opq` the `trusted.overlay.opaque` xattr.
 *
 * Hostile input is refused without touching anything outside `dest`: every name is resolved
 * from an open directory fd, one component at a time, never following a symlink (see
 * Beneath); files are created with O_EXCL|O_NOFOLLOW and their owner, mode and times set on
 * their fd; symlinks get lchown/lutimes only. `..` components, parents that are symlinks or
 * not directories, hard links to paths outside the layer or through a symlink, whiteouts of
 * `.`/`..` and device nodes refuse the layer. Owners, modes (set-id bits included) and times
 * are kept; directory modes and times are applied last (writing children would change
 * them), through the directory's fd, and dropped when a later entry replaces the directory.
 * Extended attributes (see keptXattrs) are set after the owner, which would clear file
 * capabilities; a sparse file, which this cannot write as one, refuses the layer.
 */
export async function unpackLayer(source: Readable, dest: string): Promise<UnpackResult> {
  const extract = tarExtract();
  const meta = new TarMeta();
  const tree = new Beneath(dest);
  // Deferred directory modes and times, by path below dest ('' is dest itself).
  const fixups = new Map<string, { parts: string[]; mode: number; mtime?: Date }>();
  let entries = 0;
  let whiteouts = 0;

  // Removes whatever is at `name` in the directory `dir` (path `key` below dest); a directory
  // goes with everything below it, its cached fds and its pending fix-up.
  function remove(dir: number, name: string, key: string, keepDir: boolean): void {
    const path = tree.at(dir, name);
    let isDir: boolean;
    try {
      isDir = lstatSync(path).isDirectory();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    if (!isDir) {
      unlinkSync(path);
      return;
    }
    if (keepDir) return;
    tree.forget(key);
    // Fix-ups below it are skipped at the end if their path is no longer a directory.
    fixups.delete(key);
    rmSync(path, { recursive: true, force: true });
  }

  // Creates a node with `make`; if the name is taken, replaces what is there (later entries win).
  async function replace<T>(dir: number, name: string, key: string, make: () => T | Promise<T>): Promise<T> {
    try {
      return await make();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    remove(dir, name, key, false);
    return make();
  }

  async function writeFile(
    entry: Entry,
    h: Header,
    dir: number,
    base: string,
    key: string,
    xattrs: [string, Buffer][],
  ) {
    const fd = await replace(dir, base, key, () => tree.createFileAsync(dir, base, 0o600));
    try {
      await pipeline(entry, createWriteStream('', { fd, autoClose: false, highWaterMark: 1 << 20 }));
      // Owner first: chown clears set-id bits and file capabilities.
      fchownSync(fd, h.uid ?? 0, h.gid ?? 0);
      fchmodSync(fd, (h.mode ?? 0o644) & 0o7777);
      await setXattrs(tree.forChild(dir, base), xattrs);
      if (h.mtime) futimesSync(fd, h.mtime, h.mtime);
    } finally {
      closeSync(fd);
    }
  }

  async function unpackEntry(entry: Entry, meta: EntryMeta): Promise<void> {
    const h = entry.header;
    const name = h.name;
    const parts = entryParts(name);
    const why = (reason: string) => refuse(name, reason);
    // Podman refuses these too; leaving the file out would lose data without a word.
    if (meta.sparse) throw why('sparse files in image layers are not supported');
    const xattrs = keptXattrs(name, meta.xattrs);
    if (parts.length === 0) {
      // The root itself ("./"): keep its mode for the snapshot's top directory.
      if (h.type === 'directory') fixups.set('', { parts, mode: h.mode ?? 0o755, mtime: h.mtime });
      return;
    }
    const dir = tree.dir(parts.slice(0, -1), true, why);
    const base = parts[parts.length - 1]!;
    const key = parts.join('/');
    if (base === OPAQUE) {
      whiteouts++;
      await run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', tree.forChild(dir)]);
      return;
    }
    if (base.startsWith(WHITEOUT)) {
      whiteouts++;
      const gone = base.slice(WHITEOUT.length);
      if (gone === '' || gone === '.' || gone === '..') throw why('a whiteout must name one file');
      const goneKey = [...parts.slice(0, -1), gone].join('/');
      remove(dir, gone, goneKey, false);
      await run('mknod', ['-m', '000', tree.forChild(dir, gone), 'c', '0', '0']);
      return;
    }
    const path = tree.at(dir, base);
    switch (h.type) {
      case 'directory': {
        // An existing directory stays (with its contents); anything else there is replaced.
        remove(dir, base, key, true);
        try {
          mkdirSync(path, 0o755);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        const fd = tree.dir(parts, false, why);
        fchownSync(fd, h.uid ?? 0, h.gid ?? 0);
        // `/.`: the directory the fd holds (with -h, the fd's own /proc link would be meant).
        await setXattrs(`${tree.forChild(fd)}/.`, xattrs);
        fixups.set(key, { parts, mode: h.mode ?? 0o755, mtime: h.mtime });
        return;
      }
      case 'file':
      case 'contiguous-file':
        return writeFile(entry, h, dir, base, key, xattrs);
      case 'symlink': {
        await replace(dir, base, key, () => symlinkSync(h.linkname ?? '', path));
        lchownSync(path, h.uid ?? 0, h.gid ?? 0);
        await setXattrs(tree.forChild(dir, base), xattrs);
        if (h.mtime) lutimesSync(path, h.mtime, h.mtime);
        return;
      }
      case 'link': {
        const targetParts = entryParts(h.linkname ?? '');
        if (targetParts.length === 0) throw why('a hard link to the layer root');
        const notHere = () => why(`its hard link target "${h.linkname}" is not in this layer`);
        const targetDir = tree.dir(targetParts.slice(0, -1), false, (reason) =>
          reason.endsWith('does not exist') ? notHere() : why(`its hard link target: ${reason}`),
        );
        const target = tree.at(targetDir, targetParts[targetParts.length - 1]!);
        let isDir: boolean;
        try {
          isDir = lstatSync(target).isDirectory();
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notHere();
          throw e;
        }
        if (isDir) throw why(`its hard link target "${h.linkname}" is a directory`);
        // link(2) does not follow a symlink at the target: it links the symlink itself.
        await replace(dir, base, key, () => linkSync(target, path));
        return;
      }
      case 'fifo': {
        remove(dir, base, key, false);
        await run('mkfifo', ['-m', ((h.mode ?? 0o644) & 0o777).toString(8), tree.forChild(dir, base)]);
        lchownSync(path, h.uid ?? 0, h.gid ?? 0);
        await setXattrs(tree.forChild(dir, base), xattrs);
        return;
      }
      case 'character-device':
      case 'block-device':
        throw why('device nodes are not allowed in image layers');
      default:
      // Other headers (GNU volume labels, unknown types) carry no files.
    }
  }

  // The first failure is the one to report: a source error also fails the loop, and the reverse.
  let failure: { error: unknown } | undefined;
  const fail = (e: unknown) => {
    failure ??= { error: e };
    source.destroy();
    meta.destroy();
    extract.destroy();
  };
  const consume = (async () => {
    for await (const entry of extract) {
      entries++;
      try {
        tree.trim();
        await unpackEntry(entry, meta.next());
      } finally {
        entry.resume();
      }
    }
  })().catch(fail);
  const feed = pipeline(source, meta, extract).catch(fail);
  try {
    // Both must have stopped before the fds close: nothing may use an fd number after it is reused.
    await Promise.all([consume, feed]);
    if (failure) throw failure.error;
    // Deepest first, so a parent's time is set after its children stopped changing it.
    const order = [...fixups.values()].sort((a, b) => b.parts.length - a.parts.length);
    for (const d of order) {
      tree.trim();
      // Never through a symlink; a directory replaced (or under one replaced) is skipped.
      const fd = tree.find(d.parts);
      if (fd === undefined) continue;
      fchmodSync(fd, d.mode & 0o7777);
      if (d.mtime) futimesSync(fd, d.mtime, d.mtime);
    }
  } finally {
    tree.close();
  }
  return { entries, whiteouts };
}
