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
    throw invalidArgument(`Invalid volume specification "${spec}": unknown mode "${mode}"`);
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
