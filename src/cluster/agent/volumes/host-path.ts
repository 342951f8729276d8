/**
 * hostPath volumes' `type` checks, as the kubelet makes them before mounting: the
 * `...OrCreate` types make what is missing, the others require the path to be that kind of
 * file. A failed check names the path; the pod waits in ContainerCreating.
 */
import { closeSync, openSync, type Stats, statSync } from 'node:fs';
import { makeDirs } from '../../../core/make-dirs.js';
import { VolumeError } from './volume-error.js';

export const hostPathTypes = [
  '',
  'DirectoryOrCreate',
  'Directory',
  'FileOrCreate',
  'File',
  'Socket',
  'CharDevice',
  'BlockDevice',
] as const;

const kinds: Record<string, [string, (s: Stats) => boolean]> = {
  Directory: ['a directory', (s) => s.isDirectory()],
  File: ['a file', (s) => s.isFile()],
  Socket: ['a socket file', (s) => s.isSocket()],
  CharDevice: ['a character device', (s) => s.isCharacterDevice()],
  BlockDevice: ['a block device', (s) => s.isBlockDevice()],
};

const statOrUndefined = (p: string) => {
  try {
    return statSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
};

/** An empty file at `path`; its folder must exist (the kubelet does not make it either). */
function createFile(path: string): void {
  try {
    // O_CREAT without O_EXCL: a file made at the same moment by someone else is fine.
    closeSync(openSync(path, 'a', 0o644));
  } catch (e) {
    throw new VolumeError(`hostPath ${path} could not be created: ${(e as Error).message}`);
  }
}

/** Checks (and for the `OrCreate` types makes) `path` as `type` says. */
export function checkHostPath(path: string, type = ''): void {
  if (!(hostPathTypes as readonly string[]).includes(type))
    throw new VolumeError(
      `hostPath type "${type}" for ${path} is not one of ${hostPathTypes.slice(1).join(', ')}`,
    );
  if (!path.startsWith('/')) throw new VolumeError(`hostPath ${path} is not an absolute path`);
  if (type === '') return;
  const st = statOrUndefined(path);
  if (type === 'DirectoryOrCreate') {
    if (!st) makeDirs(path, 0o755);
    else if (!st.isDirectory())
      throw new VolumeError(`hostPath type check failed: ${path} is not a directory`);
    return;
  }
  if (type === 'FileOrCreate') {
    if (!st) createFile(path);
    else if (!st.isFile()) throw new VolumeError(`hostPath type check failed: ${path} is not a file`);
    return;
  }
  const [what, ok] = kinds[type]!;
  if (!st) throw new VolumeError(`hostPath type check failed: ${path} does not exist (want ${what})`);
  if (!ok(st)) throw new VolumeError(`hostPath type check failed: ${path} is not ${what}`);
}
