/**
 * The archive side of `cp`, as the Docker API serves it: the stat of a path in a container,
 * the path as a tar stream, and a tar stream unpacked into a folder of the container. Paths
 * are resolved inside the root (copy-in.ts), the last component is never followed (a
 * symlink is reported and archived as a link, as Docker does), and unpacking goes through
 * a private folder and then copy-in's fd-relative writes, so no entry of a hostile tar can
 * write outside the container's root.
 */
import { spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readlinkSync, rmSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidArgument, notFound } from '../../core/errors.js';
import { Beneath } from '../snapshot/beneath.js';
import type { EngineContext } from './context.js';
import { withRootfs } from './copy.js';
import { copyIntoRoot, resolveInRoot } from './copy-in.js';
import type { ContainerRecord } from './store.js';

/** What Docker's `X-Docker-Container-Path-Stat` header carries (Go's os.FileMode bits in `mode`). */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

// Go's os.FileMode type bits, which the docker CLI tests.
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;

function fileMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.isDirectory()) m += MODE_DIR;
  if (st.isSymbolicLink()) m += MODE_SYMLINK;
  return m;
}

/**
 * Runs `fn` with the host path of `inner`'s parent folder (a path through an open fd, so
 * later renames inside the container cannot redirect it) and `inner`'s last component.
 */
async function atPath<T>(
  ctx: EngineContext,
  rec: ContainerRecord,
  inner: string,
  fn: (dir: string, name: string | undefined) => Promise<T>,
): Promise<T> {
  return withRootfs(ctx, rec, async (merged) => {
    const tree = new Beneath(merged);
    try {
      const clean = posix.normalize(`/${inner}`);
      const name = clean === '/' ? undefined : posix.basename(clean);
      const refuse = (why: string) => invalidArgument(`Cannot resolve "${inner}" in the container: ${why}`);
      const missing = (e?: unknown) =>
        notFound(`Could not find the file ${inner} in container ${rec.name}`, e);
      let dir: number;
      try {
        dir = tree.dir(resolveInRoot(tree, posix.dirname(clean)), false, refuse);
      } catch (e) {
        throw missing(e);
      }
      const path = tree.forChild(dir, name);
      try {
        lstatSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw missing(e);
        throw e;
      }
      return await fn(tree.forChild(dir), name);
    } finally {
      tree.close();
    }
  });
}

/** The stat of `inner` (a symlink itself, not what it points to). */
export function statInContainer(ctx: EngineContext, rec: ContainerRecord, inner: string): Promise<PathStat> {
  return atPath(ctx, rec, inner, async (dir, name) => {
    const path = name === undefined ? dir : join(dir, name);
    const st = lstatSync(path);
    return {
      name: name ?? '/',
      size: st.size,
      mode: fileMode(st),
      mtime: st.mtime.toISOString(),
      linkTarget: st.isSymbolicLink() ? readlinkSync(path) : '',
    };
  });
}

/**
 * Writes `inner` to `out` as a tar stream whose entries start with its own name (a folder
 * with everything below it; a symlink as a link).
 */
export async function archiveFromContainer(
  ctx: EngineContext,
  rec: ContainerRecord,
  inner: string,
  out: Writable,
): Promise<void> {
  await atPath(ctx, rec, inner, async (dir, name) => {
    const tar = spawn('tar', ['--numeric-owner', '-C', dir, '-cf', '-', '--', name ?? '.'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    tar.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<number | null>((resolve, reject) => {
      tar.on('error', reject);
      tar.on('close', resolve);
    });
    try {
      await pipeline(tar.stdout, out, { end: false });
    } catch (e) {
      tar.kill('SIGKILL');
      await exited;
      throw e;
    }
    const code = await exited;
    if (code !== 0)
      throw new Error(`Cannot archive ${inner} in container ${rec.name}: tar: ${stderr.trim()}`);
  });
}

/**
 * Unpacks the tar stream `input` into the folder `inner` of the container, merging with
 * what is there. `scratch` is a host folder for the unpacked entries (removed afterwards).
 */
export async function extractToContainer(
  ctx: EngineContext,
  rec: ContainerRecord,
  inner: string,
  input: Readable,
  scratch: string,
): Promise<void> {
  await atPath(ctx, rec, inner, async (dir, name) => {
    const st = lstatSync(name === undefined ? dir : join(dir, name));
    if (!st.isDirectory())
      throw invalidArgument(`The destination "${inner}" in container ${rec.name} is not a folder`);
  });
  const tmp = mkdtempSync(join(scratch, 'cp-'));
  try {
    const tar = spawn('tar', ['--numeric-owner', '-C', tmp, '-xf', '-'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    tar.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<number | null>((resolve, reject) => {
      tar.on('error', reject);
      tar.on('close', resolve);
    });
    await pipeline(input, tar.stdin);
    if ((await exited) !== 0) throw invalidArgument(`Cannot unpack the archive: tar: ${stderr.trim()}`);
    const dest = inner.endsWith('/') ? inner : `${inner}/`;
    await withRootfs(ctx, rec, async (merged) => {
      for (const entry of readdirSync(tmp)) await copyIntoRoot(join(tmp, entry), merged, dest);
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
