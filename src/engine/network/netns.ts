import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../core/exec.js';

/**
 * Persistent network namespaces for containers, as files under RUNROOT/netns (like
 * `ip netns add`, but in Berth's own runroot). The folder is made a private mount point
 * first, so the namespace pins never propagate into other mount namespaces; the last
 * namespace removed takes that mount down again, so an idle engine leaves no mount.
 *
 * Setting up the folder, pinning and unpinning run under one lock file per runroot (flock):
 * two commands binding the folder at once would stack mounts and hide each other's pins.
 * The steps run as one small fixed shell script whose paths are passed as arguments.
 */
export function netnsDir(runroot: string): string {
  return join(runroot, 'netns');
}

const CREATE = `set -e
d="$1"; f="$2"
if ! mountpoint -q "$d"; then mount --bind "$d" "$d"; mount --make-private "$d"; fi
: > "$f"
if ! unshare --net="$f" ip link set lo up; then rm -f "$f"; exit 1; fi`;

const REMOVE = `d="$1"; f="$2"
umount -l "$f" 2>/dev/null
rm -f "$f"
if [ -z "$(ls -A "$d")" ] && mountpoint -q "$d"; then umount "$d" 2>/dev/null; fi
exit 0`;

function locked(runroot: string, script: string, dir: string, file: string) {
  return run('flock', [join(runroot, 'netns.lock'), 'sh', '-c', script, 'sh', dir, file]);
}

/** Creates a new network namespace pinned at RUNROOT/netns/NAME; returns its path. */
export async function createNetns(runroot: string, name: string): Promise<string> {
  const dir = netnsDir(runroot);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  await locked(runroot, CREATE, dir, path);
  return path;
}

/** Unpins and removes a namespace file; the namespace itself goes when its last user does. */
export async function removeNetns(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const dir = join(path, '..');
  await locked(join(dir, '..'), REMOVE, dir, path);
}

const PIN = `set -e
d="$1"; ipc="$2"; uts="$3"; h="$4"
if ! mountpoint -q "$d"; then mount --bind "$d" "$d"; mount --make-private "$d"; fi
set --
if [ -n "$ipc" ]; then : > "$ipc"; set -- "$@" --ipc="$ipc"; fi
if [ -n "$uts" ]; then : > "$uts"; set -- "$@" --uts="$uts" hostname "$h"; else set -- "$@" true; fi
if ! unshare "$@"; then
  for f in "$ipc" "$uts"; do if [ -n "$f" ]; then umount "$f" 2>/dev/null || true; rm -f "$f"; fi; done
  exit 1
fi`;

/**
 * Pins a new IPC namespace and, when `hostname` is given, a new UTS namespace with that
 * hostname (a pod's, which its containers join, as a pause container would hold them) at
 * RUNROOT/netns/NAME-ipc and NAME-uts. Returns their paths; {@link removeNetns} unpins each.
 */
export async function createIpcUtsNamespaces(
  runroot: string,
  name: string,
  o: { ipc: boolean; hostname?: string },
): Promise<{ ipc?: string; uts?: string }> {
  const dir = netnsDir(runroot);
  mkdirSync(dir, { recursive: true });
  const ipc = o.ipc ? join(dir, `${name}-ipc`) : undefined;
  const uts = o.hostname !== undefined ? join(dir, `${name}-uts`) : undefined;
  if (!ipc && !uts) return {};
  const args = [dir, ipc ?? '', uts ?? '', o.hostname ?? ''];
  await run('flock', [join(runroot, 'netns.lock'), 'sh', '-c', PIN, 'sh', ...args]);
  return { ...(ipc ? { ipc } : {}), ...(uts ? { uts } : {}) };
}
