/**
 * Where a container's files live. Under the root (kept across reboots): the overlay's upper
 * and work folders, the mount point, the log, generated /etc files. Under the runroot
 * (gone after a reboot): the OCI bundle, conmon's sockets and pid files, and exit files.
 */
import { join } from 'node:path';

/** The engine's two state folders. */
export interface StorePaths {
  root: string;
  runroot: string;
}

/** The paths of one container. */
export interface ContainerPaths {
  dir: string;
  upper: string;
  work: string;
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

export function containerPaths(s: StorePaths, id: string): ContainerPaths {
  const dir = join(s.root, 'containers', id);
  const bundle = join(s.runroot, 'containers', id);
  const exitDir = join(s.runroot, 'exits');
  return {
    dir,
    upper: join(dir, 'upper'),
    work: join(dir, 'work'),
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
