/**
 * Where a container's files live. Under the root (kept across reboots): its snapshot (the
 * overlay's upper and work folders, under ROOT/snapshots), the mount point, the log, generated /etc files. Under the runroot
 * (gone after a reboot): the OCI bundle, conmon's sockets and pid files, and exit files.
 */
import { join } from 'node:path';
import { OverlaySnapshotter } from '../snapshot/overlay-snapshotter.js';

/** The engine's two state folders. */
export interface StorePaths {
  root: string;
  runroot: string;
}

/** The paths of one container. */
export interface ContainerPaths {
  dir: string;
  /** The container's snapshot (its key is the container ID): its own files and overlay's work folder. */
  upper: string;
  work: string;
  /** Where the upper folder was before containers had snapshots (moved into the snapshot at start). */
  legacyUpper: string;
  merged: string;
  log: string;
  hostsFile: string;
  hostnameFile: string;
  resolvFile: string;
  bundle: string;
  pidFile: string;
  conmonPidFile: string;
  exitDir: string;
  exitFile: string;
  socketDir: string;
}

/**
 * Paths worked out before, by root, runroot and ID: the node agent's listings reconcile every
 * container every second, and each reconcile asked for all of them again (a dozen path joins).
 * The object is frozen, since callers share it.
 */
const known = new Map<string, Readonly<ContainerPaths>>();
const MAX_KNOWN = 4096;

export function containerPaths(s: StorePaths, id: string): Readonly<ContainerPaths> {
  const key = `${s.root}\0${s.runroot}\0${id}`;
  let paths = known.get(key);
  if (!paths) {
    paths = Object.freeze(pathsOf(s, id));
    if (known.size >= MAX_KNOWN) known.clear();
    known.set(key, paths);
  }
  return paths;
}

function pathsOf(s: StorePaths, id: string): ContainerPaths {
  const dir = join(s.root, 'containers', id);
  const bundle = join(s.runroot, 'containers', id);
  const exitDir = join(s.runroot, 'exits');
  // The snapshot's folder name is a hash of the ID: worked out only when asked for, since the
  // node agent's listings (every second, for every container) read only the exit and pid files.
  const snapshot = () => new OverlaySnapshotter(join(s.root, 'snapshots')).folderOf(id, 'active');
  return {
    dir,
    get upper() {
      return join(snapshot(), 'fs');
    },
    get work() {
      return join(snapshot(), 'work');
    },
    legacyUpper: join(dir, 'upper'),
    merged: join(dir, 'merged'),
    log: join(dir, 'ctr.log'),
    hostsFile: join(dir, 'hosts'),
    hostnameFile: join(dir, 'hostname'),
    resolvFile: join(dir, 'resolv.conf'),
    bundle,
    pidFile: join(bundle, 'pidfile'),
    conmonPidFile: join(bundle, 'conmon.pid'),
    exitDir,
    exitFile: join(exitDir, id),
    socketDir: join(s.runroot, 's'),
  };
}
