/**
 * Whether the kernel's OOM killer ended a container. conmon writes an `oom` file into the
 * bundle when its cgroup's OOM event fires, but it handles that event and the container's exit
 * separately, and under load the exit can be written first: the exit alone then reads as a
 * plain SIGKILL (137). The memory cgroup's own counter is the kernel's record of the kill and
 * stays until the cgroup is removed, so it settles a 137 whose `oom` file is not there.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CGROUP_ROOT, isCgroupV2 } from '../../core/cgroup-version.js';

/** The `oom_kill` count of a memory cgroup (v1 `memory.oom_control`, v2 `memory.events`), 0 if unreadable. */
export function cgroupOomKills(cgroupsPath: string, base = CGROUP_ROOT): number {
  const file = isCgroupV2(base)
    ? join(base, cgroupsPath, 'memory.events')
    : join(base, 'memory', cgroupsPath, 'memory.oom_control');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    // The cgroup is gone (removed with the container) or never had a memory controller.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  const m = /^oom_kill (\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Whether a container that exited with `code` was OOM-killed: conmon's `oom` file, or the cgroup's count for a SIGKILL. */
export function wasOomKilled(bundle: string, code: number, cgroupsPath: string, base?: string): boolean {
  if (existsSync(join(bundle, 'oom'))) return true;
  return code === 137 && cgroupOomKills(cgroupsPath, base) > 0;
}
