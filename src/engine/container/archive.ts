/**
 * The archive side of `cp` (the Docker API's, and `cp` with `-`): the stat of a path in a
 * container, the path as a tar stream, and a tar stream unpacked into a folder of the
 * container. Paths are resolved across the container's tree with its mounts (copy.ts), the
 * last component is never followed (a symlink is reported and archived as a link, as Docker
 * does). Both directions stage the files in a private folder and move them with the
 * fd-relative copier, so no entry of a hostile tar, and no symlink in the container, can
 * make a read or a write leave the container's tree; GNU tar only ever sees that folder.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidArgument } from '../../core/errors.js';
import type { EngineContext } from './context.js';
import { copyIntoTree, copyToHost, findInContainer, hostSource, withContainerTree } from './copy.js';
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

/** Runs `tar` with `args`, piping `input` in or its output to `out`; throws with tar's words when it fails. */
async function tar(args: string[], io: { input?: Readable; out?: Writable }, what: string): Promise<void> {
  const child = spawn('tar', args, {
    stdio: [io.input ? 'pipe' : 'ignore', io.out ? 'pipe' : 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  try {
    if (io.input) await pipeline(io.input, child.stdin!);
    if (io.out) await pipeline(child.stdout!, io.out, { end: false });
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    throw e;
  }
  if ((await exited) !== 0) throw invalidArgument(`${what}: tar: ${stderr.trim()}`);
}

/** The stat of `inner` (a symlink itself, not what it points to). */
export function statInContainer(ctx: EngineContext, rec: ContainerRecord, inner: string): Promise<PathStat> {
  return withContainerTree(ctx, rec, (tree) => {
    const { parts, st } = findInContainer(tree, rec, inner, false);
    return {
      name: parts[parts.length - 1] ?? '/',
      size: st.size,
      mode: fileMode(st),
      mtime: st.mtime.toISOString(),
      linkTarget: st.isSymbolicLink() ? tree.lookup.readlink(parts) : '',
    };
  });
}

/** Runs `fn` with a new private folder under `scratch`, removed afterwards. */
async function withScratch<T>(scratch: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(scratch, 'cp-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Writes `inner` to `out` as a tar stream whose entries start with its own name (a folder
 * with everything below it, volumes mounted in it included; a symlink as a link). `scratch`
 * is a host folder for staging the copy.
 */
export async function archiveFromContainer(
  ctx: EngineContext,
  rec: ContainerRecord,
  inner: string,
  out: Writable,
  scratch: string,
): Promise<void> {
  await withScratch(scratch, async (dir) => {
    const name = await withContainerTree(ctx, rec, (tree) => {
      const { parts } = findInContainer(tree, rec, inner, false);
      // The archive carries the container's owners; the client decides what to keep.
      copyToHost(tree.source(parts), dir, { keepOwners: true });
      return parts[parts.length - 1];
    });
    await tar(
      ['--numeric-owner', '-C', dir, '-cf', '-', '--', name ?? '.'],
      { out },
      `Cannot archive ${inner} in container ${rec.name}`,
    );
  });
}

/**
 * Unpacks the tar stream `input` into the folder `inner` of the container, merging with
 * what is there. `scratch` is a host folder for the unpacked entries (removed afterwards).
 * The entries' owners are kept with `keepOwners` (`cp -a`, the API's `copyUIDGID`);
 * otherwise root owns them, as Docker's daemon does.
 */
export async function extractToContainer(
  ctx: EngineContext,
  rec: ContainerRecord,
  inner: string,
  input: Readable,
  scratch: string,
  keepOwners = false,
): Promise<void> {
  const dest = await withContainerTree(ctx, rec, (tree) => findInContainer(tree, rec, inner, true).st);
  if (!dest.isDirectory()) throw invalidArgument(`destination "${rec.name}:${inner}" must be a directory`);
  await withScratch(scratch, async (dir) => {
    await tar(['--numeric-owner', '-C', dir, '-xf', '-'], { input }, 'Cannot unpack the archive');
    const into = inner.endsWith('/') ? inner : `${inner}/`;
    await withContainerTree(ctx, rec, (tree) => {
      for (const entry of readdirSync(dir).sort()) {
        const host = hostSource(join(dir, entry));
        try {
          copyIntoTree(tree, host.src, into, { rootReadOnly: rec.config.readOnly, keepOwners });
        } finally {
          host.close();
        }
      }
    });
  });
}
