/**
 * `cp`: copies between the host and a container's file tree as its processes see it: the
 * root filesystem (the overlay mount, mounted for the copy when the container is not
 * running) with its volumes, bind mounts and the engine's /etc/hosts, /etc/hostname and
 * /etc/resolv.conf over it (fs/mounted-tree.ts). Both directions go through the one
 * fd-relative copier (fs/copy-tree.ts): paths are resolved with the container's symlink
 * rules, and no symlink is followed by a read or a write outside the tree.
 */
import { existsSync, lstatSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, normalize, resolve } from 'node:path';
import { invalidArgument, notFound } from '../../core/errors.js';
import { type CopyRules, type CopySource, copyTree, overwriteFile, treeSource } from '../fs/copy-tree.js';
import { MountedTree, type TreeMount } from '../fs/mounted-tree.js';
import { Beneath } from '../snapshot/beneath.js';
import type { EngineContext } from './context.js';
import { imageOf } from './image-source.js';
import { withContainerLock } from './lock.js';
import { containerPaths } from './paths.js';
import { mountRootfs, unmountRootfs } from './rootfs.js';
import type { ContainerRecord } from './store.js';

/**
 * cp keeps modes and times, makes FIFOs again and refuses device nodes and sockets. Owners
 * are Docker's: what is copied belongs to `owner` (root in the container, the caller on the
 * host) unless `-a` (`keepOwners`) keeps the source's.
 */
const cpRules = (keepOwners: boolean, owner: { uid: number; gid: number }): CopyRules =>
  keepOwners ? { special: 'fifo' } : { special: 'fifo', owner };

/** The caller of `cp`, who owns what it copies out of a container without `-a`. */
const caller = () => ({ uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });

/** How {@link copyIntoTree} writes. */
export interface CopyInOptions {
  /** The container's root filesystem is read-only (`--read-only`). */
  rootReadOnly: boolean;
  /** The source named a folder's contents (`SRC/.`). */
  contents?: boolean;
  /** `-a`: keep the source's owners instead of making root the owner. */
  keepOwners?: boolean;
}

/**
 * Runs `fn` on the container's root filesystem, mounted for the call when the container is not
 * running. That mount holds the container's lock: the exit command of a run that has just ended
 * (conmon's `container cleanup`) unmounts the same mount point, and without the lock it could
 * unmount ours half-way through an `export` or a `cp`.
 */
export async function withRootfs<T>(
  ctx: EngineContext,
  rec: ContainerRecord,
  fn: (merged: string) => Promise<T>,
): Promise<T> {
  const paths = containerPaths(ctx, rec.id);
  // A paused container's root filesystem is mounted too (its processes are only frozen).
  const mounted = (r: ContainerRecord) => r.state === 'running' || r.state === 'paused';
  // A root the runtime mounted (private-rootfs.ts) is only in the container's mount namespace.
  // `/.` makes the link itself the folder: trees open their root without following symlinks.
  const live = (r: ContainerRecord) =>
    r.config.privateRootfs && r.pid ? `/proc/${r.pid}/root/.` : paths.merged;
  if (mounted(rec)) return fn(live(rec));
  return withContainerLock(ctx, rec.id, async () => {
    // The state read before the lock may be stale: a run may have started meanwhile.
    const now = ctx.containers.find(rec.id) ?? rec;
    if (mounted(now)) return fn(live(now));
    await mountRootfs(ctx, paths, rec.id, await imageOf(ctx.images, now.config));
    try {
      return await fn(paths.merged);
    } finally {
      await unmountRootfs(paths);
    }
  });
}

/** What is mounted over the container's root filesystem and reachable from the host. */
function treeMounts(ctx: EngineContext, rec: ContainerRecord): TreeMount[] {
  const paths = containerPaths(ctx, rec.id);
  const mounts: TreeMount[] = [];
  // The engine's files exist from the first start on; a file the user mounts there wins.
  const own = new Set(rec.config.mounts.map((m) => normalize(m.destination)));
  for (const [source, destination] of [
    [paths.hostnameFile, '/etc/hostname'],
    [paths.hostsFile, '/etc/hosts'],
    [paths.resolvFile, '/etc/resolv.conf'],
  ] as const)
    if (!own.has(destination) && existsSync(source))
      mounts.push({ destination, source, readOnly: rec.config.readOnly });
  for (const m of rec.config.mounts) {
    const source = m.type === 'bind' ? m.source : ctx.volumes.find(m.source)?.Mountpoint;
    // A bind source the runtime has not made yet (or a removed volume) hides nothing.
    if (source && existsSync(source))
      mounts.push({ destination: m.destination, source, readOnly: m.readOnly });
  }
  return mounts;
}

/** Runs `fn` on the container's tree (its root filesystem with its mounts). */
export function withContainerTree<T>(
  ctx: EngineContext,
  rec: ContainerRecord,
  fn: (tree: MountedTree) => Promise<T> | T,
): Promise<T> {
  return withRootfs(ctx, rec, async (merged) => {
    const tree = new MountedTree(merged, treeMounts(ctx, rec), (p) => !statSync(p).isDirectory());
    try {
      return await fn(tree);
    } finally {
      tree.close();
    }
  });
}

/**
 * The components of `inner` in the container, which must exist. Without `follow` a symlink
 * at the end is the entry itself (Docker copies the link unless `-L`).
 */
export function findInContainer(tree: MountedTree, rec: ContainerRecord, inner: string, follow: boolean) {
  const missing = (e?: unknown) => notFound(`Could not find the file ${inner} in container ${rec.name}`, e);
  let parts: string[];
  try {
    parts = tree.resolve(inner, follow);
  } catch (e) {
    throw missing(e);
  }
  const st = tree.lookup.lstat(parts);
  if (!st) throw missing();
  if (inner.endsWith('/') && !st.isDirectory())
    throw invalidArgument(`The path ${inner} in container ${rec.name} is not a folder`);
  return { parts, st };
}

/** Docker's `SRC/.`: a path whose last component is `.` names a folder's contents, not the folder. */
export const namesContents = (path: string) => path === '.' || path.endsWith('/.');

/** A host file or folder as a copy source, read through its parent folder's fd. */
export function hostSource(hostPath: string): { src: CopySource; close(): void } {
  const abs = resolve(hostPath);
  if (abs === '/') throw invalidArgument('Cannot copy the host\'s root folder "/"');
  try {
    lstatSync(abs);
  } catch (e) {
    throw notFound(`Could not find the file ${hostPath} on the host`, e);
  }
  const tree = new Beneath(realpathSync(dirname(abs)));
  return { src: treeSource(tree, [basename(abs)]), close: () => tree.close() };
}

/**
 * Writes `src` into the container at `inner`, with Docker's rules: into an existing folder it
 * goes under its own name; otherwise it becomes `inner`, whose parent must exist. A mounted
 * file (such as /etc/hosts) is overwritten in place; read-only mounts and a read-only root
 * filesystem are refused with Docker's messages.
 */
export function copyIntoTree(tree: MountedTree, src: CopySource, inner: string, o: CopyInOptions): void {
  const contents = o.contents ?? false;
  const refuse = (why: string) => invalidArgument(`Cannot copy to "${inner}" in the container: ${why}`);
  let parts = tree.resolve(inner, true);
  const dest = tree.lookup.lstat(parts);
  if (contents) {
    // A folder's contents go into the folder `inner` (made when missing).
    if (!src.lstat().isDirectory()) throw refuse(`the source is not a folder`);
    if (dest && !dest.isDirectory()) throw refuse('cannot copy a folder over a file');
  } else if (dest?.isDirectory()) parts = [...parts, src.name];
  else if (inner.endsWith('/')) {
    if (!dest) throw notFound(`The folder "${inner}" does not exist in the container`);
    throw refuse('it is not a folder');
  }
  if (parts.length === 0 && !contents) throw refuse('the root itself cannot be replaced');
  const at = tree.place(parts);
  if (at.mount ? at.mount.readOnly : o.rootReadOnly)
    throw invalidArgument(
      at.mount ? 'mounted volume is marked read-only' : 'container rootfs is marked read-only',
    );
  const where = `/${parts.join('/')}`;
  if (at.fileMount) {
    if (!src.lstat().isFile()) throw refuse(`"${where}" is a mounted file; only a file can replace it`);
    overwriteFile(src, at.tree.at(at.tree.dir([], false, refuse), at.parts[0]!));
    return;
  }
  const parent = parts.slice(0, -1);
  if (at.parts.length > 0 && at.tree.find(at.parts.slice(0, -1)) === undefined)
    throw notFound(`The folder "/${parent.join('/')}" does not exist in the container`);
  copyTree(src, at.tree, at.parts, cpRules(o.keepOwners ?? false, { uid: 0, gid: 0 }));
}

/**
 * Copies `src` to the host path `hostDest` with Docker's rules: into an existing folder under
 * its own name (with `contents`, or for the container's root: what it holds), otherwise as
 * `hostDest`, whose parent folder must exist.
 */
export function copyToHost(
  src: CopySource,
  hostDest: string,
  o: { contents?: boolean; keepOwners?: boolean } = {},
): void {
  const contents = o.contents ?? false;
  const abs = resolve(hostDest);
  let dir: string;
  let target: string[];
  if (existsSync(abs) && statSync(abs).isDirectory()) {
    dir = abs;
    target = src.name && !contents ? [src.name] : [];
  } else {
    if (hostDest.endsWith('/')) throw notFound(`The folder ${hostDest} does not exist on the host`);
    dir = dirname(abs);
    target = [basename(abs)];
    if (!existsSync(dir)) throw notFound(`The folder ${dir} does not exist on the host`);
  }
  const to = new Beneath(realpathSync(dir));
  try {
    copyTree(src, to, target, cpRules(o.keepOwners ?? false, caller()));
  } finally {
    to.close();
  }
}

/** Options of `cp`: `-L` (follow a symlink at the source's end) and `-a` (keep owners). */
export interface CpOptions {
  follow?: boolean;
  archive?: boolean;
}

/** Copies `inner` (file or folder) out of the container to `hostDest`. */
export async function copyFromContainer(
  ctx: EngineContext,
  rec: ContainerRecord,
  inner: string,
  hostDest: string,
  o: CpOptions = {},
) {
  await withContainerTree(ctx, rec, (tree) => {
    const { parts } = findInContainer(tree, rec, inner, o.follow ?? false);
    copyToHost(tree.source(parts), hostDest, { contents: namesContents(inner), keepOwners: o.archive });
  });
}

/** Copies the host's `hostSrc` into the container at `inner`. */
export async function copyToContainer(
  ctx: EngineContext,
  rec: ContainerRecord,
  hostSrc: string,
  inner: string,
  o: CpOptions = {},
) {
  const host = hostSource(hostSrc);
  try {
    await withContainerTree(ctx, rec, (tree) =>
      copyIntoTree(tree, host.src, inner, {
        rootReadOnly: rec.config.readOnly,
        contents: namesContents(hostSrc),
        keepOwners: o.archive,
      }),
    );
  } finally {
    host.close();
  }
}
