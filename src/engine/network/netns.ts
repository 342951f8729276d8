import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../../core/exec.js';

/**
 * Persistent network namespaces for containers, as files under RUNROOT/netns (like
 * `ip netns add`, but in Berth's own runroot). The folder is made a private mount point first,
 * so the namespace bind mounts never propagate into other mount namespaces.
 */
export function netnsDir(runroot: string): string {
  return join(runroot, 'netns');
}

function isMountPoint(dir: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === dir);
}

async function ensurePrivateDir(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  if (isMountPoint(dir)) return;
  await run('mount', ['--bind', dir, dir]);
  await run('mount', ['--make-private', dir]);
}

/** Creates a new network namespace pinned at RUNROOT/netns/NAME; returns its path. */
export async function createNetns(runroot: string, name: string): Promise<string> {
  const dir = netnsDir(runroot);
  await ensurePrivateDir(dir);
  const path = join(dir, name);
  writeFileSync(path, '');
  try {
    await run('unshare', [`--net=${path}`, 'ip', 'link', 'set', 'lo', 'up']);
  } catch (e) {
    rmSync(path, { force: true });
    throw e;
  }
  return path;
}

/** Unpins and removes a namespace file; the namespace itself goes when its last user does. */
export async function removeNetns(path: string): Promise<void> {
  if (!existsSync(path)) return;
  await run('umount', ['-l', path], { check: false });
  rmSync(path, { force: true });
  // The last one out takes down the folder's private mount, so an idle engine leaves no mount.
  // A plain (not lazy) umount fails while another namespace is pinned inside: then it stays.
  const dir = dirname(path);
  if (readdirSync(dir).length === 0 && isMountPoint(dir)) await run('umount', [dir], { check: false });
}
