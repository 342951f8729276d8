/**
 * Docker's short mount syntaxes (`-v`, `--tmpfs`, and the same strings in a Docker API
 * HostConfig's Binds and Tmpfs), parsed into the engine's mount specs with Docker's errors.
 * Here rather than in the CLI because the Docker API server reads the same strings.
 */

import { resolve } from 'node:path';
import { invalidArgument } from '../../core/errors.js';
import type { MountSpec, TmpfsSpec } from './config.js';

/** `-v host:ctr[:ro]`, `-v NAME:ctr`, `-v ctr` (anonymous). */
export function parseVolume(spec: string): MountSpec {
  const parts = spec.split(':');
  let mode = '';
  if (parts.length === 3 || (parts.length === 2 && !parts[1]!.startsWith('/'))) mode = parts.pop()!;
  if (mode && !/^(ro|rw|z|Z)(,(ro|rw|z|Z))*$/.test(mode))
    // dockerd's words; the mode is the part it names.
    throw invalidArgument(`invalid mode: ${mode}`);
  const readOnly = mode.split(',').includes('ro');
  if (parts.length === 1) {
    const dest = parts[0]!;
    if (!dest.startsWith('/'))
      throw invalidArgument(`Invalid volume specification "${spec}": the container path must be absolute`);
    return { type: 'volume', source: '', destination: dest, readOnly, anonymous: true };
  }
  const [src, dest] = parts as [string, string];
  if (!dest?.startsWith('/') || !src)
    throw invalidArgument(
      `Invalid volume specification "${spec}": use HOST-PATH:CONTAINER-PATH[:ro] or NAME:CONTAINER-PATH`,
    );
  if (src.startsWith('/') || src.startsWith('.'))
    return { type: 'bind', source: resolve(src), destination: dest, readOnly };
  return { type: 'volume', source: src, destination: dest, readOnly };
}

/** `--tmpfs /path[:opts]`. */
export function parseTmpfs(spec: string): TmpfsSpec {
  const i = spec.indexOf(':');
  const dest = i < 0 ? spec : spec.slice(0, i);
  if (!dest.startsWith('/')) throw invalidArgument(`Invalid --tmpfs "${spec}": the path must be absolute`);
  const options =
    i < 0
      ? []
      : spec
          .slice(i + 1)
          .split(',')
          .filter(Boolean);
  return { destination: dest, options };
}

/** What one `--mount` gives: a bind or volume mount, or a tmpfs. */
export type ParsedMount = { mount: MountSpec; tmpfs?: undefined } | { tmpfs: TmpfsSpec; mount?: undefined };

const propagations = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
/** Keys that may stand alone (`readonly` means `readonly=true`), as in Docker's CLI. */
const flagKeys = new Set(['readonly', 'ro', 'volume-nocopy', 'bind-nonrecursive']);

function boolValue(key: string, value: string, spec: string): boolean {
  if (/^(1|true)$/i.test(value)) return true;
  if (/^(0|false)$/i.test(value)) return false;
  throw invalidArgument(`invalid argument "${spec}" for "--mount" flag: invalid value for ${key}: ${value}`);
}

/**
 * `--mount type=bind|volume|tmpfs,source=...,target=...[,readonly][,...]` with Docker's keys
 * and errors: the CLI's for the syntax (`invalid field`, `unexpected key`, options of another
 * type), the daemon's `invalid mount config for type ...` for what the mount cannot be (a
 * bind's source must exist and be absolute, a tmpfs has no source). Unlike `-v`, a bind of a
 * missing host path is refused rather than created (checked when the container is made).
 */
export function parseMount(spec: string): ParsedMount {
  const fail = (why: string) => invalidArgument(`invalid argument "${spec}" for "--mount" flag: ${why}`);
  let type = 'volume';
  let source = '';
  let target = '';
  let readOnly = false;
  let propagation: string | undefined;
  let nonRecursive = false;
  let noCopy = false;
  const tmpfsOptions: string[] = [];
  const typed: Record<string, string> = {};
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    if (eq < 0 && !flagKeys.has(key)) throw fail(`invalid field '${field}' must be a key=value pair`);
    const value = eq < 0 ? 'true' : field.slice(eq + 1);
    switch (key) {
      case 'type':
        type = value.toLowerCase();
        break;
      case 'source':
      case 'src':
        source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        target = value;
        break;
      case 'readonly':
      case 'ro':
        readOnly = boolValue(key, value, spec);
        break;
      case 'consistency':
        break;
      case 'bind-propagation':
        if (!propagations.includes(value)) throw fail(`invalid bind-propagation: ${value}`);
        propagation = value;
        typed.bind = key;
        break;
      case 'bind-nonrecursive':
        nonRecursive = boolValue(key, value, spec);
        typed.bind = key;
        break;
      case 'volume-nocopy':
        noCopy = boolValue(key, value, spec);
        typed.volume = key;
        break;
      case 'volume-driver':
        if (value !== 'local') throw fail(`volume driver "${value}" is not supported (only local)`);
        typed.volume = key;
        break;
      case 'tmpfs-size': {
        const m = /^(\d+)([kmg]?)b?$/i.exec(value);
        if (!m) throw fail(`invalid value for ${key}: ${value}`);
        const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
        tmpfsOptions.push(`size=${Number(m[1]) * mult[m[2]!.toLowerCase()]!}`);
        typed.tmpfs = key;
        break;
      }
      case 'tmpfs-mode':
        if (!/^[0-7]{1,4}$/.test(value)) throw fail(`invalid value for ${key}: ${value}`);
        tmpfsOptions.push(`mode=${value}`);
        typed.tmpfs = key;
        break;
      default:
        throw fail(`unexpected key '${key}' in '${field}'`);
    }
  }
  for (const [t] of Object.entries(typed))
    if (t !== type) throw fail(`cannot mix '${t}-*' options with mount type '${type}'`);
  const daemon = (why: string) => invalidArgument(`invalid mount config for type "${type}": ${why}`);
  if (!target) throw daemon('field Target must not be empty');
  if (!target.startsWith('/')) throw daemon(`invalid mount path: '${target}' mount path must be absolute`);
  switch (type) {
    case 'bind':
      if (!source) throw daemon('field Source must not be empty');
      if (!source.startsWith('/'))
        throw daemon(`invalid mount path: '${source}' mount path must be absolute`);
      return {
        mount: {
          type: 'bind',
          source,
          destination: target,
          readOnly,
          requireSource: true,
          ...(propagation ? { propagation } : {}),
          ...(nonRecursive ? { nonRecursive } : {}),
          viaMount: true,
        },
      };
    case 'volume':
      return {
        mount: {
          type: 'volume',
          source,
          destination: target,
          readOnly,
          ...(source ? {} : { anonymous: true }),
          ...(noCopy ? { noCopy } : {}),
          viaMount: true,
        },
      };
    case 'tmpfs':
      if (source) throw daemon('field Source must not be specified');
      return {
        tmpfs: {
          destination: target,
          options: [...(readOnly ? ['ro'] : []), ...tmpfsOptions],
          viaMount: true,
        },
      };
    default:
      throw invalidArgument(`invalid argument "${spec}" for "--mount" flag: invalid mount type "${type}"`);
  }
}
