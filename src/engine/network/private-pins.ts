/**
 * Namespace pins kept out of the host's mount table: a pod's network, IPC and UTS namespaces
 * are bind-mounted in a mount namespace of their own (the "pin namespace"), not in the
 * host's. Each pin in the host's table is copied by the kernel into every new container's
 * mount namespace and detached again after its pivot_root, and read back from mountinfo
 * several times by every runc create and init: with three pins per pod, a node with 100 pods
 * held 300 of them, and runc's CPU per container grew by about a third.
 *
 * Layout under RUNROOT/netns (the private tmpfs of netns.ts):
 * - `mnt`: the pin namespace itself, pinned on the host (the one host mount this costs);
 * - `pinned/`: in the pin namespace a tmpfs holds the pins; on the host it stays empty;
 * - `holder.pid`: a `sleep` that lives in the pin namespace, so the host reaches the pins
 *   through its root, `/proc/PID/root`; it runs in its own session (a killed agent leaves it,
 *   as it leaves conmon), with the runroot as its working folder;
 * - `pins`: a symlink to `/proc/PID/root/RUNROOT/netns/pinned`, the folder whose paths runc,
 *   the CNI plugins and nsenter are given (`RUNROOT/netns/pins/NAME`).
 * A holder that died is replaced from the pinned namespace, and the link follows it; the pins
 * are not lost with it. The pin namespace goes with `--cleanup` ({@link removePinNamespace}).
 */
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../core/exec.js';

/** The folder (a symlink on the host) that pins made in the pin namespace are reached through. */
export const pinsDir = (netnsDir: string) => join(netnsDir, 'pins');
/** The same folder as the pin namespace sees it. */
export const innerPinsDir = (netnsDir: string) => join(netnsDir, 'pinned');
/** Where the pin namespace is pinned on the host. */
export const pinNamespaceFile = (netnsDir: string) => join(netnsDir, 'mnt');

/**
 * The holder's pid when it lives in the namespace pinned at `mnt` and the link leads into it;
 * undefined otherwise (none made yet, the holder gone, a reboot left stale files).
 */
export function liveHolder(netnsDir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(netnsDir, 'holder.pid'), 'utf8'), 10);
    if (!(pid > 0)) return undefined;
    const mnt = statSync(pinNamespaceFile(netnsDir));
    if (readlinkSync(`/proc/${pid}/ns/mnt`) !== `mnt:[${mnt.ino}]`) return undefined;
    // The link leads onto the pin namespace's own tmpfs, not onto the host's empty folder.
    return statSync(pinsDir(netnsDir)).dev !== statSync(netnsDir).dev ? pid : undefined;
  } catch {
    return undefined;
  }
}

// $1 is RUNROOT/netns, mounted by the caller's script. Makes the pin namespace if it is not
// pinned yet (its own tmpfs on `pinned`), starts a holder in it if none lives there, and
// points the link at the holder's root. Run under the folder's lock.
export const ENSURE_PIN_NAMESPACE = `d="$1"
mkdir -p "$d/pinned"
pid=$(cat "$d/holder.pid" 2>/dev/null || true)
ino=$(stat -c %i "$d/mnt" 2>/dev/null || true)
if [ -n "$pid" ] && [ -n "$ino" ] && [ "$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)" = "mnt:[$ino]" ]; then :
else
  hold='set -e; mountpoint -q "$1/pinned" || mount -t tmpfs -o mode=0755 berth-pins "$1/pinned"; cd "$1/.."; setsid sleep infinity </dev/null >/dev/null 2>&1 & echo $! > "$1/holder.pid"'
  if mountpoint -q "$d/mnt" 2>/dev/null; then
    nsenter --mount="$d/mnt" sh -c "$hold" sh "$d"
  else
    : > "$d/mnt"
    unshare --mount="$d/mnt" --propagation private sh -c "$hold" sh "$d"
  fi
fi
ln -sfn "/proc/$(cat "$d/holder.pid")/root$d/pinned" "$d/pins"`;

// $1 is RUNROOT/netns: ends the holder and unpins the pin namespace (every pin in it goes).
const REMOVE_PIN_NAMESPACE = `d="$1"
pid=$(cat "$d/holder.pid" 2>/dev/null || true)
ino=$(stat -c %i "$d/mnt" 2>/dev/null || true)
if [ -n "$pid" ] && [ "$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)" = "mnt:[$ino]" ]; then kill "$pid"; fi
if mountpoint -q "$d/mnt" 2>/dev/null; then umount "$d/mnt"; fi
rm -f "$d/pins" "$d/mnt" "$d/holder.pid"
rmdir "$d/pinned" 2>/dev/null
if [ -z "$(ls -A "$d")" ] && mountpoint -q "$d"; then umount "$d" 2>/dev/null; fi
exit 0`;

/** Ends the pin namespace of `netnsDir` with every pin in it, under the folder's `lock`. */
export async function removePinNamespace(netnsDir: string, lock: string): Promise<void> {
  await run('flock', [lock, 'sh', '-c', REMOVE_PIN_NAMESPACE, 'sh', netnsDir], { check: false });
}
