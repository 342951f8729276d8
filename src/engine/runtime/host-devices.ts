/**
 * Host device nodes for a container's config: one named by `--device`, and for
 * `--privileged` every node under the host's /dev, as Docker's HostDevices gathers them.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../../core/errors.js';

/** A device node in the OCI config: the runtime makes it in the container's /dev. */
export interface OciDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/**
 * `--device`: the host node's type and numbers, read when the container starts (as Docker
 * does at create), with its error when the host path is not a device.
 */
export function hostDevice(d: { PathOnHost: string; PathInContainer: string }): OciDevice {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(d.PathOnHost);
  } catch (e) {
    throw invalidArgument(
      `error gathering device information while adding custom device "${d.PathOnHost}": ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`,
    );
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice())
    throw invalidArgument(
      `error gathering device information while adding custom device "${d.PathOnHost}": not a device node`,
    );
  // Linux's dev_t: major in bits 8-19 (and 32-43), minor in bits 0-7 and 20-31.
  const rdev = BigInt(st.rdev);
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return {
    path: d.PathInContainer,
    type: st.isCharacterDevice() ? 'c' : 'b',
    major,
    minor,
    fileMode: st.mode & 0o777,
    uid: st.uid,
    gid: st.gid,
  };
}

/** Folders under /dev that are not the host's devices (runc mounts pts, shm and mqueue itself), as Docker skips them. */
const SKIP = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/**
 * Every character and block device under `dev` (the host's /dev) with its own path, except
 * `console` (the runtime's) and the paths in `except`; symlinks are not followed. A node
 * that vanishes while it is read is left out.
 */
export function privilegedDevices(except: readonly string[] = [], dev = '/dev'): OciDevice[] {
  const skip = new Set(except);
  const out: OciDevice[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (!(dir === dev && SKIP.has(e.name))) walk(path);
        continue;
      }
      if (!(e.isCharacterDevice() || e.isBlockDevice()) || skip.has(path) || path === join(dev, 'console'))
        continue;
      try {
        out.push(hostDevice({ PathOnHost: path, PathInContainer: path }));
      } catch (err) {
        if (!/no such file or directory/.test((err as Error).message)) throw err;
      }
    }
  };
  walk(dev);
  return out;
}
