/**
 * The kubelet's atomic writer for the files of configMap, secret, downwardAPI and projected
 * volumes: each version of the files goes into a new hidden folder named after the time
 * (`..2026_11_30_07_24_33.XXXXXX`), a `..data` symlink names the current one and is replaced
 * with rename(2), and each top-level name the container sees is a symlink through `..data`.
 * A reader inside the container therefore sees either all of the old files or all of the new
 * ones, never a mix; a payload equal to what is on disk writes nothing.
 */
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { checkPayloadPath, type Payload } from './payload.js';
import { VolumeError } from './volume-error.js';

const DATA = '..data';
const DATA_TMP = '..data_tmp';

/** The mode a file gets on disk: with an fsGroup the group may read it (the kubelet's roMask). */
const fileMode = (mode: number, gid?: number) => (gid === undefined ? mode : mode | 0o440) & 0o7777;

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code;

function readlinkOrUndefined(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** Every regular file below `dir` (relative paths); symlinks are not followed. */
function filesBelow(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...filesBelow(dir, rel));
    else out.push(rel);
  }
  return out;
}

/** Whether the version in `dir` holds exactly `payload` (same files, bytes and modes). */
function sameAs(dir: string, payload: Payload, gid?: number): boolean {
  const files = filesBelow(dir);
  if (files.length !== payload.size) return false;
  for (const f of files) {
    const want = payload.get(f);
    if (!want) return false;
    const st = lstatSync(join(dir, f));
    if (!st.isFile() || (st.mode & 0o7777) !== fileMode(want.mode, gid)) return false;
    if (gid !== undefined && st.gid !== gid) return false;
    if (!readFileSync(join(dir, f)).equals(want.data)) return false;
  }
  return true;
}

/** A name mkdtemp gave a version folder below: `..` then the time, one component. */
const isVersionName = (name: string) => /^\.\.\d{4}(_\d\d){5}\.[^/]+$/.test(name);

const timestamp = (d: Date) => {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}`;
};

/**
 * Makes `dir` hold `payload`, atomically; with `gid` (the pod's fsGroup) files and folders
 * belong to that group and folders are setgid. Returns whether anything changed.
 */
export function writeAtomic(dir: string, payload: Payload, opts: { gid?: number; now?: Date } = {}): boolean {
  for (const p of payload.keys()) checkPayloadPath(p);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const current = readlinkOrUndefined(join(dir, DATA));
  // `..data` must name one of our version folders beside it: anything else (a target with a
  // slash or `..`) would make the compare read, and the clean-up delete, outside the volume.
  if (current !== undefined && !isVersionName(current))
    throw new VolumeError(`cannot update the volume: "${DATA}" points to "${current}", not a version folder`);
  if (current && sameAs(join(dir, current), payload, opts.gid)) return false;

  const fresh = mkdtempSync(join(dir, `..${timestamp(opts.now ?? new Date())}.`));
  const { gid } = opts;
  const own = (p: string, mode: number) => {
    if (gid !== undefined) chownSync(p, -1, gid);
    chmodSync(p, mode);
  };
  own(fresh, gid === undefined ? 0o755 : 0o2755);
  for (const [rel, f] of payload) {
    const path = join(fresh, rel);
    for (let d = dirname(rel); d !== '.'; d = dirname(d)) {
      // Folders are made here, in a folder no one else writes to, so nothing in the way is a symlink.
      mkdirSync(join(fresh, d), { recursive: true });
      own(join(fresh, d), gid === undefined ? 0o755 : 0o2755);
    }
    writeFileSync(path, f.data, { flag: 'wx' });
    own(path, fileMode(f.mode, gid));
  }

  const tmp = join(dir, DATA_TMP);
  rmSync(tmp, { force: true });
  symlinkSync(fresh.slice(dir.length + 1), tmp);
  renameSync(tmp, join(dir, DATA));

  // The names the container sees: one symlink per top-level entry, through `..data`.
  const top = new Set([...payload.keys()].map((p) => p.split('/')[0]!));
  for (const t of top) {
    const p = join(dir, t);
    let st: ReturnType<typeof lstatSync> | undefined;
    try {
      st = lstatSync(p);
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw e;
    }
    if (st && !st.isSymbolicLink())
      throw new VolumeError(`cannot write "${t}" in the volume: something else is there`);
    if (!st) symlinkSync(join(DATA, t), p);
  }
  for (const e of readdirSync(dir, { withFileTypes: true }))
    if (!e.name.startsWith('..') && e.isSymbolicLink() && !top.has(e.name)) unlinkSync(join(dir, e.name));
  if (current) rmSync(join(dir, current), { recursive: true, force: true });
  return true;
}
