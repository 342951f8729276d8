/**
 * API version negotiation: the versions this socket answers, and the `/v1.NN/` prefix of a
 * request path. Docker's CLI asks `/_ping` for the server's version and speaks the lower of
 * that and its own, so one advertised version serves CLI 20.10 (1.41) and 28.x (1.50) alike.
 */
import { invalidArgument } from '../../core/errors.js';

/** What `/_ping` and `/version` advertise. */
export const API_VERSION = '1.45';
/** The oldest prefix accepted (Docker's own minimum). */
export const MIN_API_VERSION = '1.24';
/** The newest prefix accepted (docker 28.x's). */
export const MAX_API_VERSION = '1.50';

const num = (v: string) => {
  const [maj, min] = v.split('.').map(Number);
  return (maj ?? 0) * 1000 + (min ?? 0);
};

/** The path without its version prefix, and the version it asked for (the advertised one without). */
export function splitVersion(path: string): { version: string; path: string } {
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
  if (!m) {
    if (/^\/v[^/]*\//.test(path)) throw invalidArgument(`Invalid API version in path "${path}"`);
    return { version: API_VERSION, path };
  }
  const version = m[1]!;
  if (num(version) > num(MAX_API_VERSION))
    throw invalidArgument(
      `client version ${version} is too new. Maximum supported API version is ${MAX_API_VERSION}`,
    );
  if (num(version) < num(MIN_API_VERSION))
    throw invalidArgument(
      `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  return { version, path: m[2]! };
}

/** True when `version` is at least `than` (for shapes that changed between versions). */
export function versionAtLeast(version: string, than: string): boolean {
  return num(version) >= num(than);
}
