import { createWriteStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as tarExtract } from 'tar-stream';
import { invalidArgument } from '../../core/errors.js';
import { run } from '../../core/exec.js';

/** What unpacking a layer did, for the caller's records. */
export interface UnpackResult {
  entries: number;
  whiteouts: number;
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

function refuse(name: string, why: string): Error {
  return invalidArgument(`Refusing layer entry "${name}": ${why}`);
}

/**
 * The path components of a tar entry name, relative to the layer root. A leading `/` or
 * `./` is dropped (as Docker does), and any `..` component refuses the whole layer: a layer
 * has no business naming a path above its root.
 */
export function entryParts(name: string): string[] {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw refuse(name, 'the path escapes the layer root ("..")');
  return parts;
}

/**
 * Unpacks one layer (an uncompressed tar stream) into the empty folder `dest`, converting OCI
 * whiteouts into overlayfs form so layers stack as overlay lower directories: `.wh.NAME`
 * becomes a 0/0 character device, `.wh..wh..opq` the `trusted.overlay.opaque` xattr.
 *
 * Hostile input is refused without writing outside `dest`: `..` components, writes through a
 * symlink (every parent is checked with lstat, and files are created with O_EXCL so a final
 * symlink is never followed), hard links to paths outside the layer, and device nodes.
 * Owners, modes (set-id bits included) and times are kept; directory modes and times are
 * applied last, because writing children would change them.
 */
export async function unpackLayer(source: Readable, dest: string): Promise<UnpackResult> {
  const extract = tarExtract();
  const dirs: { path: string; mode: number; mtime?: Date }[] = [];
  let entries = 0;
  let whiteouts = 0;

  // Ensures every parent of `parts` exists as a real directory inside dest.
  async function parentOf(parts: string[], name: string): Promise<string> {
    let cur = dest;
    for (const p of parts.slice(0, -1)) {
      cur = join(cur, p);
      let st: import('node:fs').Stats | undefined;
      try {
        st = await fs.lstat(cur);
      } catch {
        await fs.mkdir(cur, { mode: 0o755 });
        continue;
      }
      if (st.isSymbolicLink())
        throw refuse(
          name,
          `a parent ("${parts.join('/')}") is a symlink; writing through it could escape the layer`,
        );
      if (!st.isDirectory()) throw refuse(name, 'a parent is not a directory');
    }
    return cur;
  }

  async function clear(path: string, keepDir: boolean): Promise<void> {
    let st: import('node:fs').Stats;
    try {
      st = await fs.lstat(path);
    } catch {
      return;
    }
    if (keepDir && st.isDirectory()) return;
    await fs.rm(path, { recursive: true, force: true });
  }

  const consume = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const name = h.name;
      try {
        entries++;
        const parts = entryParts(name);
        if (parts.length === 0) {
          // The root itself ("./"): keep its mode for the snapshot's top directory.
          if (h.type === 'directory') dirs.push({ path: dest, mode: h.mode ?? 0o755, mtime: h.mtime });
          entry.resume();
          continue;
        }
        const parent = await parentOf(parts, name);
        const base = parts[parts.length - 1]!;
        if (base === OPAQUE) {
          whiteouts++;
          await run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', parent]);
          entry.resume();
          continue;
        }
        if (base.startsWith(WHITEOUT)) {
          whiteouts++;
          const target = join(parent, base.slice(WHITEOUT.length));
          await clear(target, false);
          await run('mknod', ['-m', '000', target, 'c', '0', '0']);
          entry.resume();
          continue;
        }
        const path = join(parent, base);
        switch (h.type) {
          case 'directory': {
            await clear(path, true);
            await fs.mkdir(path, { mode: 0o755 }).catch((e: NodeJS.ErrnoException) => {
              if (e.code !== 'EEXIST') throw e;
            });
            await fs.lchown(path, h.uid ?? 0, h.gid ?? 0);
            dirs.push({ path, mode: h.mode ?? 0o755, mtime: h.mtime });
            entry.resume();
            break;
          }
          case 'file':
          case 'contiguous-file': {
            await clear(path, false);
            // 'wx' is O_CREAT|O_EXCL: never follows a symlink planted at the final name.
            await pipeline(entry, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
            await fs.lchown(path, h.uid ?? 0, h.gid ?? 0);
            await fs.chmod(path, (h.mode ?? 0o644) & 0o7777);
            if (h.mtime) await fs.lutimes(path, h.mtime, h.mtime);
            break;
          }
          case 'symlink': {
            await clear(path, false);
            await fs.symlink(h.linkname ?? '', path);
            await fs.lchown(path, h.uid ?? 0, h.gid ?? 0);
            if (h.mtime) await fs.lutimes(path, h.mtime, h.mtime);
            entry.resume();
            break;
          }
          case 'link': {
            const targetParts = entryParts(h.linkname ?? '');
            if (targetParts.length === 0) throw refuse(name, 'a hard link to the layer root');
            const targetParent = await parentOf(targetParts, name);
            const target = join(targetParent, targetParts[targetParts.length - 1]!);
            try {
              await fs.lstat(target);
            } catch {
              throw refuse(name, `its hard link target "${h.linkname}" is not in this layer`);
            }
            await clear(path, false);
            await fs.link(target, path);
            entry.resume();
            break;
          }
          case 'fifo': {
            await clear(path, false);
            await run('mkfifo', ['-m', ((h.mode ?? 0o644) & 0o777).toString(8), path]);
            await fs.lchown(path, h.uid ?? 0, h.gid ?? 0);
            entry.resume();
            break;
          }
          case 'character-device':
          case 'block-device':
            throw refuse(name, 'device nodes are not allowed in image layers');
          default:
            // Other headers (GNU volume labels, unknown types) carry no files.
            entry.resume();
        }
      } catch (e) {
        entry.resume();
        throw e;
      }
    }
  })();
  // A source error must reject too, not hang the loop.
  const feed = pipeline(source, extract);
  await Promise.all([consume, feed]).catch((e) => {
    source.destroy();
    extract.destroy();
    throw e;
  });
  // Deepest first, so a parent's time is set after its children stopped changing it.
  dirs.sort((a, b) => b.path.length - a.path.length);
  for (const d of dirs) {
    await fs.chmod(d.path, d.mode & 0o7777);
    if (d.mtime) await fs.utimes(d.path, d.mtime, d.mtime);
  }
  return { entries, whiteouts };
}
