/**
 * Which cgroup hierarchy the host mounts: the v2 unified tree (one folder per cgroup, every
 * controller's files in it) or v1 (a folder per controller). Only the v2 root has a
 * `cgroup.controllers` file; a hybrid host (v1 controllers, v2 beside them under `unified`)
 * reads as v1, which is how runc and crun treat it too.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Where the host mounts its cgroup hierarchy. */
export const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * True when the hierarchy at `root` is cgroup v2. Asked anew on every call (a stat), so tests
 * can point it at a made-up tree; callers that ask often may keep the answer.
 */
export function isCgroupV2(root = CGROUP_ROOT): boolean {
  return existsSync(join(root, 'cgroup.controllers'));
}

/**
 * True on a hybrid host: v1 controllers at `root`, and the v2 hierarchy mounted beside them at
 * `root/unified` (systemd's hybrid layout).
 */
export function isCgroupHybrid(root = CGROUP_ROOT): boolean {
  return !isCgroupV2(root) && existsSync(join(root, 'unified', 'cgroup.controllers'));
}
