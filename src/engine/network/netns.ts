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
import { basename, dirname, join } from 'node:path';
import { BatchQueue } from '../../core/batch-queue.js';
import { internal } from '../../core/errors.js';
import { commandHelper, run } from '../../core/exec.js';
import { logger } from '../../core/log.js';
import { programPath } from '../../core/program-path.js';
import { shellWord } from '../../core/shell-word.js';
import type { NamespaceKind, SpawnOutcome } from '../../core/spawner.js';
import {
  ENSURE_PIN_NAMESPACE,
  innerPinsDir,
  liveHolder,
  pinNamespaceFile,
  pinsDir,
  removePinNamespace,
} from './private-pins.js';

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
 * fails: the pin is then made again under the lock. So a container's namespaces cost one
 * fork() of the command helper in a long-lived process (spawner.ts's `pin` verb), elsewhere
 * one `unshare` that becomes `ip` (the loopback up) in them, and nothing waits for another's.
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
  /**
   * Pin them in the pin namespace (private-pins.ts), out of the host's mount table, at
   * RUNROOT/netns/pins/NAME: a pod's, whose pins would otherwise grow the table every runc
   * copies and reads by three per pod. Default: bind mounts on the host.
   */
  privatePins?: boolean;
}

// $1 is the folder: its tmpfs is mounted if it is not yet.
const MOUNT_DIR = `set -e
d="$1"
if ! mountpoint -q "$d"; then mount -t tmpfs -o mode=0755,size=64k berth-netns "$d"; mount --make-private "$d"; fi`;

// $1 is the folder, then unshare's arguments and the program: the folder's tmpfs is mounted
// if it is not yet, the pin files made on it, and the namespaces bound onto them.
const MOUNT = `${MOUNT_DIR}
shift
for a in "$@"; do case "$a" in --net=*|--ipc=*|--uts=*) : > "\${a#*=}";; esac; done
exec unshare "$@"`;

// $1 is the folder: mounted if need be, with the pin namespace and its holder (private-pins.ts).
const MOUNT_PIN_NAMESPACE = `${MOUNT_DIR}
${ENSURE_PIN_NAMESPACE}`;

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
  if (want.privatePins) return createPrivatePins(dir, name, want);
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
      made =
        makePinFiles(files, dev) &&
        ((await pinByHelper(undefined, [ns]))?.[0] ??
          (await run('unshare', args, { check: false })).code === 0);
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

/** The namespace files of `name` under `folder`, by kind. */
function nsFiles(folder: string, name: string, want: NamespaceRequest): PinnedNamespaces {
  return {
    ...(want.net ? { net: join(folder, name) } : {}),
    ...(want.ipc ? { ipc: join(folder, `${name}-ipc`) } : {}),
    ...(want.uts ? { uts: join(folder, `${name}-uts`) } : {}),
  };
}

/** unshare's arguments pinning each namespace of `ns` on its file. */
const unshareArgs = (ns: PinnedNamespaces) => [
  ...(ns.net ? [`--net=${ns.net}`] : []),
  ...(ns.ipc ? [`--ipc=${ns.ipc}`] : []),
  ...(ns.uts ? [`--uts=${ns.uts}`] : []),
];

/**
 * Pins new namespaces in the pin namespace: the pin files are made through the link into it,
 * then the namespaces are made and bound in it ({@link pinPrivate}). Only making the pin
 * namespace or its holder takes the folder's lock. A holder replaced meanwhile (its
 * pins are kept, but the files this made may have gone with a cleanup) makes it try once
 * more, alone, and that try reports its error.
 */
async function createPrivatePins(
  dir: string,
  name: string,
  want: NamespaceRequest,
): Promise<PinnedNamespaces> {
  const ns = nsFiles(pinsDir(dir), name, want);
  const files = Object.values(ns) as string[];
  mkdirSync(dir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    let holder = liveHolder(dir);
    if (holder === undefined) {
      // -o: the holder this may start must not inherit the lock's file descriptor.
      await run('flock', ['-o', lockOf(dir), 'sh', '-c', MOUNT_PIN_NAMESPACE, 'sh', dir]);
      holder = liveHolder(dir);
      if (holder === undefined) throw internal(`Cannot make the namespace pins' holder in ${dir}`);
    }
    let made = false;
    try {
      made =
        makePinFiles(files, statSync(pinsDir(dir)).dev) &&
        (await pinPrivate(dir, want, name, attempt > 1)) &&
        liveHolder(dir) === holder;
    } catch (e) {
      if (attempt > 1) throw e;
      log.debug('pinning in the pin namespace failed; once more', { name, err: e as Error });
    } finally {
      if (!made) await unpinPrivate(dir, files);
    }
    if (made) return ns;
    if (attempt > 1) throw internal(`Cannot pin the namespaces of ${name} in ${dir}`);
  }
}

/**
 * Makes the namespaces of `name` and binds them onto its pin files in the pin namespace of
 * `dir`. Pods that start while another's are being pinned go together ({@link pinQueue}).
 * False when that failed, or with `report` (alone, at once) an error that says why.
 */
async function pinPrivate(
  dir: string,
  want: NamespaceRequest,
  name: string,
  report: boolean,
): Promise<boolean> {
  if (!report) return pinQueue(dir, want).add(name);
  const inner = nsFiles(innerPinsDir(dir), name, want);
  const byHelper = await pinByHelper(pinNamespaceFile(dir), [inner], name);
  if (byHelper !== undefined) return byHelper[0]!;
  return (await run('nsenter', pinOneArgs(dir, want, name))).code === 0;
}

/** The kinds of namespace in `ns`, in the order the files of {@link pinByHelper} follow. */
const kindsOf = (ns: PinnedNamespaces) => (['net', 'ipc', 'uts'] as const).filter((k) => ns[k]);

/**
 * Pins each of `pods` (their files as the mount namespace pinned at `mountNs` sees them; the
 * host's when undefined; all asking for the same kinds) by the command helper's pin verb,
 * which starts no program (spawner.ts): what nsenter, unshare and `ip` cost, three or four
 * programs per pod, is one fork() of the helper for them all. Undefined where there is no
 * helper (a one-shot command) or it cannot pin (an architecture whose system calls it does
 * not know); else whether each one's pins were made. With `report` (one pod, named `report`),
 * a failure is an error naming the failing step and path.
 */
async function pinByHelper(
  mountNs: string | undefined,
  pods: PinnedNamespaces[],
  report?: string,
): Promise<boolean[] | undefined> {
  const kinds: NamespaceKind[] = kindsOf(pods[0]!);
  const o = await commandHelper()?.pin(
    mountNs,
    kinds,
    pods.map((ns) => kinds.map((k) => ns[k]!)),
  );
  if (o === undefined) return undefined;
  if (o.why && report) throw internal(`Cannot pin the namespaces of ${report}: ${o.why}`);
  if (o.why) log.debug('pinning failed', { files: pods.map((ns) => ns[kinds[0]!]), why: o.why });
  return o.made;
}

/**
 * The queue of pins to make in the pin namespace of `dir`, for one kind of request. Kept for
 * the process's life, like the pin namespace itself: a few per runroot.
 */
const pinQueues = new Map<string, BatchQueue<string, boolean>>();

function pinQueue(dir: string, want: NamespaceRequest): BatchQueue<string, boolean> {
  const key = `${dir}\0${want.net ? 'net' : ''},${want.ipc ? 'ipc' : ''},${want.uts ? 'uts' : ''}`;
  let q = pinQueues.get(key);
  if (!q) {
    q = new BatchQueue((names) => pinEach(dir, want, names));
    pinQueues.set(key, q);
  }
  return q;
}

/**
 * Pins the namespaces of each of `names` in the pin namespace of `dir`; true for each one
 * made. By the command helper where it can: one forked child of it for them all, about 0.5 ms
 * of CPU less per pod than a child each. Else by programs; one name: nsenter becomes
 * unshare, which becomes `ip`; several: nsenter becomes a shell that runs unshare (then `ip`)
 * for each, so the pods share one helper command and one nsenter (about 2 ms of CPU each under
 * load). A name that fails is tried again alone by the caller, whose try reports the error.
 */
async function pinEach(dir: string, want: NamespaceRequest, names: string[]): Promise<boolean[]> {
  const inner = names.map((n) => nsFiles(innerPinsDir(dir), n, want));
  const byHelper = await pinByHelper(pinNamespaceFile(dir), inner);
  if (byHelper) return byHelper;
  if (names.length === 1) {
    const r = await run('nsenter', pinOneArgs(dir, want, names[0]!), { check: false });
    if (r.code !== 0) log.debug('pinning failed', { name: names[0], stderr: r.stderr.trim() });
    return [r.code === 0];
  }
  const mnt = `--mount=${pinNamespaceFile(dir)}`;
  const r = await run(
    'nsenter',
    [mnt, programPath('sh'), '-c', pinEachScript(want), 'sh', innerPinsDir(dir), ...names],
    { check: false },
  );
  const made = new Set(
    r.stdout
      .split('\n')
      .filter((l) => l.startsWith('ok '))
      .map((l) => l.slice(3)),
  );
  if (made.size < names.length) log.debug('pinning failed for some', { names, stderr: r.stderr.trim() });
  return names.map((n) => made.has(n));
}

/**
 * The script of {@link pinEach}: $1 is the pinned folder as the pin namespace sees it, the
 * other arguments the names; it prints `ok NAME` for each one pinned. The files are named as
 * {@link nsFiles} names them.
 */
function pinEachScript(want: NamespaceRequest): string {
  const flags = [
    ...(want.net ? ['--net="$d/$n"'] : []),
    ...(want.ipc ? ['--ipc="$d/$n-ipc"'] : []),
    ...(want.uts ? ['--uts="$d/$n-uts"'] : []),
  ];
  const unshare = shellWord(programPath('unshare'));
  const then = inside(want).map(shellWord).join(' ');
  return `d="$1"; shift
for n in "$@"; do
  if ${unshare} ${flags.join(' ')} ${then}; then echo "ok $n"; fi
done`;
}

/** nsenter's arguments pinning the namespaces of one `name`: it enters the pin namespace and becomes unshare, which becomes {@link inside}. */
function pinOneArgs(dir: string, want: NamespaceRequest, name: string): string[] {
  const inner = nsFiles(innerPinsDir(dir), name, want);
  return [`--mount=${pinNamespaceFile(dir)}`, programPath('unshare'), ...unshareArgs(inner), ...inside(want)];
}

/** Unpins pins of the pin namespace (`files` as the host reaches them) and removes their files. */
async function unpinPrivate(dir: string, files: string[]): Promise<void> {
  if (!existsSync(pinNamespaceFile(dir))) return;
  const inner = files.map((f) => join(innerPinsDir(dir), basename(f)));
  if (await unpinQueue(dir).add(inner)) return;
  if (liveHolder(dir) !== undefined) for (const f of files) rmSync(f, { force: true });
  else await run('nsenter', [`--mount=${pinNamespaceFile(dir)}`, 'rm', '-f', ...inner], { check: false });
}

/**
 * The queue of pins to unmount in the pin namespace of `dir`: pods removed while another's
 * pins are being unmounted go together, in one child of the command helper (its unpin verb,
 * which removes the files too: true) or else in the next `nsenter umount` (umount goes on past
 * a target it cannot unmount). A lazy unmount detaches a pin at once; the namespace goes when
 * its last user does.
 */
const unpinQueues = new Map<string, BatchQueue<string[], boolean>>();

function unpinQueue(dir: string): BatchQueue<string[], boolean> {
  let q = unpinQueues.get(dir);
  if (!q) {
    q = new BatchQueue(async (jobs) => {
      const done = await commandHelper()?.unpin(pinNamespaceFile(dir), jobs.flat());
      if (done) {
        warnUnlessUnpinned(done, jobs.flat());
        return jobs.map(() => true);
      }
      const mnt = `--mount=${pinNamespaceFile(dir)}`;
      await run('nsenter', [mnt, programPath('umount'), '-l', ...jobs.flat()], { check: false });
      return jobs.map(() => false);
    });
    unpinQueues.set(dir, q);
  }
  return q;
}

/**
 * The helper's unpin goes on past a pin it cannot unmount (its files are removed all the
 * same), so its exit status says whether some namespace stays held: said, not thrown, as the
 * pod is gone either way.
 */
function warnUnlessUnpinned(done: SpawnOutcome, files: string[]): void {
  if (done.code !== 0)
    log.warn('some namespace pins could not be unmounted', {
      files,
      status: done.code ?? done.signal,
      err: done.stderr.toString().trim(),
    });
}

/** Whether `path` is a pin in a pin namespace (RUNROOT/netns/pins/NAME). */
const isPrivatePin = (path: string) => pinsDir(dirname(dirname(path))) === dirname(path);

/** Ends the pin namespace of `runroot` with every pin left in it (`--cleanup`). */
export function removePrivatePins(runroot: string): Promise<void> {
  const dir = netnsDir(runroot);
  return removePinNamespace(dir, lockOf(dir));
}

/**
 * What `unshare` becomes in the new namespaces: `ip` bringing the loopback up, if any. By
 * absolute path, as nsenter is given unshare's: each saves a search of PATH (program-path.ts).
 */
function inside(want: NamespaceRequest): string[] {
  return want.net ? [programPath('ip'), 'link', 'set', 'lo', 'up'] : [programPath('true')];
}

/** Unpins and removes namespace files (absent ones are skipped), without the folder's teardown. */
async function unpin(paths: string[]): Promise<void> {
  const present = paths.filter((p) => existsSync(p));
  const done = present.length ? await commandHelper()?.unpin(undefined, present) : undefined;
  if (done) return warnUnlessUnpinned(done, present);
  // A lazy unmount detaches the pin at once; the namespace goes when its last user does.
  if (present.length) await run('umount', ['-l', ...present], { check: false });
  for (const p of present) rmSync(p, { force: true });
}

/**
 * Unpins and removes namespace files of one folder; the last one out unmounts the folder
 * (under the lock, so no pin is being made there meanwhile).
 */
export async function removeNamespaces(paths: string[]): Promise<void> {
  const pins = paths.filter(isPrivatePin);
  if (pins.length) await unpinPrivate(dirname(dirname(pins[0]!)), pins);
  const present = paths.filter((p) => !isPrivatePin(p) && existsSync(p));
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
