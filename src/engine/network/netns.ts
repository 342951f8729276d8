import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../../core/exec.js';
import { logger } from '../../core/log.js';

const log = logger('netns');

/**
 * Persistent namespaces for containers and pods, as files under RUNROOT/netns (like
 * `ip netns add`, but in Berth's own runroot). The folder is a private tmpfs mount, so the
 * namespace pins never propagate into other mount namespaces; the last namespace removed
 * takes that mount down again, so an idle engine leaves no mount.
 *
 * The folder's mount is set up and taken down under one lock file per runroot (flock): two
 * commands mounting the folder at once would stack mounts and hide each other's pins, and a
 * pin made while the last one out unmounts would land on the bare folder. Pinning itself
 * takes no lock. Whether the folder is mounted is a stat (a tmpfs has a device of its own);
 * each pin file is made on that tmpfs and checked to be there before the namespaces are
 * bound onto it. If the folder goes away meanwhile, the file goes with it and the bind
 * fails: the pin is then made again under the lock. So a pod's namespaces cost one
 * `unshare` that becomes `ip` (the loopback up) in them, and nothing waits for another pod's.
 *
 * A folder bind-mounted onto itself (how earlier versions made it) has no device of its
 * own: pins there always take the locked path, which finds that mount and keeps it.
 */
export function netnsDir(runroot: string): string {
  return join(runroot, 'netns');
}

/** Paths of the namespaces pinned for one container or pod. */
export interface PinnedNamespaces {
  net?: string;
  ipc?: string;
  uts?: string;
}

/**
 * Which namespaces to pin: a network namespace (its loopback up), IPC, UTS. The UTS namespace
 * keeps the kernel's hostname until a container that joins it starts: the runtime sets the
 * container's hostname in the namespace it joins, so every container of a pod writes the
 * pod's (a `hostname` here cost two more programs per pod).
 */
export interface NamespaceRequest {
  net?: boolean;
  ipc?: boolean;
  uts?: boolean;
}

// $1 is the folder, then unshare's arguments and the program: the folder's tmpfs is mounted
// if it is not yet, the pin files made on it, and the namespaces bound onto them.
const MOUNT = `set -e
d="$1"; shift
if ! mountpoint -q "$d"; then mount -t tmpfs -o mode=0755,size=64k berth-netns "$d"; mount --make-private "$d"; fi
for a in "$@"; do case "$a" in --net=*|--ipc=*|--uts=*) : > "\${a#*=}";; esac; done
exec unshare "$@"`;

const UNMOUNT_IF_EMPTY = `d="$1"
if [ -z "$(ls -A "$d")" ] && mountpoint -q "$d"; then umount "$d" 2>/dev/null; fi
exit 0`;

const lockOf = (dir: string) => join(dirname(dir), 'netns.lock');

/** The device of the folder's own tmpfs, or undefined when it is not one (not mounted yet). */
function tmpfsDevice(dir: string): number | undefined {
  const own = statSync(dir).dev;
  return own === statSync(dirname(dir)).dev ? undefined : own;
}

/** Makes the empty pin files on the folder's tmpfs of device `dev`; false if one lands elsewhere. */
function makePinFiles(files: string[], dev: number): boolean {
  for (const f of files) {
    const fd = openSync(f, 'wx');
    try {
      if (fstatSync(fd).dev !== dev) return false;
    } finally {
      closeSync(fd);
    }
  }
  return true;
}

/**
 * Pins new namespaces at RUNROOT/netns/NAME (network), NAME-ipc and NAME-uts, all made by one
 * process; returns their paths. {@link removeNamespaces} unpins them.
 */
export async function createNamespaces(
  runroot: string,
  name: string,
  want: NamespaceRequest,
): Promise<PinnedNamespaces> {
  const dir = netnsDir(runroot);
  const ns: PinnedNamespaces = {
    ...(want.net ? { net: join(dir, name) } : {}),
    ...(want.ipc ? { ipc: join(dir, `${name}-ipc`) } : {}),
    ...(want.uts ? { uts: join(dir, `${name}-uts`) } : {}),
  };
  const files = Object.values(ns) as string[];
  if (!files.length) return ns;
  const args = [
    ...(ns.net ? [`--net=${ns.net}`] : []),
    ...(ns.ipc ? [`--ipc=${ns.ipc}`] : []),
    ...(ns.uts ? [`--uts=${ns.uts}`] : []),
    ...inside(want),
  ];
  mkdirSync(dir, { recursive: true });
  const dev = tmpfsDevice(dir);
  if (dev !== undefined) {
    let made = false;
    try {
      made = makePinFiles(files, dev) && (await run('unshare', args, { check: false })).code === 0;
    } catch (e) {
      // A pin file a crashed run left behind, say: the locked path below makes the pins again
      // and reports its own error if it fails too.
      log.debug('pinning without the lock failed; again under it', { name, err: e as Error });
    } finally {
      if (!made) await unpin(files);
    }
    if (made) return ns;
  }
  try {
    await run('flock', [lockOf(dir), 'sh', '-c', MOUNT, 'sh', dir, ...args]);
  } catch (e) {
    await removeNamespaces(files);
    throw e;
  }
  return ns;
}

/** What `unshare` becomes in the new namespaces: `ip` bringing the loopback up, if any. */
function inside(want: NamespaceRequest): string[] {
  return want.net ? ['ip', 'link', 'set', 'lo', 'up'] : ['true'];
}

/** Unpins and removes namespace files (absent ones are skipped), without the folder's teardown. */
async function unpin(paths: string[]): Promise<void> {
  const present = paths.filter((p) => existsSync(p));
  // A lazy unmount detaches the pin at once; the namespace goes when its last user does.
  if (present.length) await run('umount', ['-l', ...present], { check: false });
  for (const p of present) rmSync(p, { force: true });
}

/**
 * Unpins and removes namespace files of one folder; the last one out unmounts the folder
 * (under the lock, so no pin is being made there meanwhile).
 */
export async function removeNamespaces(paths: string[]): Promise<void> {
  const present = paths.filter((p) => existsSync(p));
  if (!present.length) return;
  await unpin(present);
  const dir = dirname(present[0]!);
  if (readdirSync(dir).length === 0)
    await run('flock', [lockOf(dir), 'sh', '-c', UNMOUNT_IF_EMPTY, 'sh', dir], { check: false });
}

/** Creates a new network namespace pinned at RUNROOT/netns/NAME; returns its path. */
export async function createNetns(runroot: string, name: string): Promise<string> {
  return (await createNamespaces(runroot, name, { net: true })).net!;
}

/** Unpins and removes a namespace file; the namespace itself goes when its last user does. */
export function removeNetns(path: string): Promise<void> {
  return removeNamespaces([path]);
}
