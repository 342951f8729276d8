/**
 * podman as the peer that tests and benchmarks compare Berth with, run the way this kind of
 * machine allows (shared/reference/PEERS.md): on runc with cgroupfs (crun refuses cgroup v1's
 * hybrid mode), on a store of its own, and without default ulimits (root here cannot raise
 * RLIMIT_NOFILE, which podman's defaults ask for).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** podman's global options for a store of its own at `root` and `runroot`. */
export function podmanStoreArgs(root: string, runroot: string): string[] {
  return [
    '--root',
    root,
    '--runroot',
    runroot,
    '--runtime',
    'runc',
    '--storage-driver',
    'overlay',
    '--cgroup-manager',
    'cgroupfs',
  ];
}

/** The environment for podman: a containers.conf written into `dir` that asks for no ulimits. */
export function podmanEnv(dir: string): NodeJS.ProcessEnv {
  const conf = join(dir, 'containers.conf');
  writeFileSync(conf, '[containers]\ndefault_ulimits = []\n');
  return { ...process.env, CONTAINERS_CONF: conf };
}
