/**
 * `--log-driver` and `--log-opt`, checked as Docker's daemon checks them. conmon writes every
 * log in the k8s-file format, which `logs` reads; `json-file` is accepted and stored that way
 * too, as podman does, so scripts that pass Docker's default driver keep working. `max-size`
 * alone becomes conmon's `--log-size-max` (it truncates the file when full); with `max-file`
 * above 1 the log is rotated into that many files instead (log-rotate.ts). `none` still has
 * conmon write the file, because attach follows it, but `logs` refuses to read it, as Docker does.
 */
import { invalidArgument } from '../../core/errors.js';
import type { ContainerConfig } from './config.js';

const drivers = ['k8s-file', 'json-file', 'none'] as const;
const known: Record<string, readonly string[]> = {
  none: [],
  'k8s-file': ['max-size', 'max-file', 'path'],
  'json-file': ['max-size', 'max-file', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'],
};
const binary: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Docker's RAMInBytes (json-file's max-size): `10m`, `1g`, `4096`, binary units. */
function sizeInBytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(v.trim());
  if (!m) throw invalidArgument(`invalid size: '${v}'`);
  return Math.floor(Number(m[1]) * binary[m[2]!.toLowerCase()]!);
}

/** The log config for a container, or an error in Docker's words. */
export function logConfig(driver: string | undefined, opts: readonly string[]): ContainerConfig['log'] {
  const d = driver ?? 'k8s-file';
  if (!(drivers as readonly string[]).includes(d))
    throw invalidArgument(`logger: no log driver named '${d}' is registered`);
  const options: Record<string, string> = {};
  for (const o of opts) {
    const eq = o.indexOf('=');
    if (eq < 1) throw invalidArgument(`invalid key value pair format in logging opts: ${o}`);
    options[o.slice(0, eq)] = o.slice(eq + 1);
  }
  for (const k of Object.keys(options))
    if (!known[d]!.includes(k)) throw invalidArgument(`unknown log opt '${k}' for ${d} log driver`);
  const size = options['max-size'] !== undefined ? sizeInBytes(options['max-size']) : undefined;
  if (options['max-file'] !== undefined) {
    const n = Number(options['max-file']);
    if (!Number.isInteger(n)) throw invalidArgument(`invalid value for max-file: ${options['max-file']}`);
    if (n < 1) throw invalidArgument('max-file cannot be less than 1');
    if (n > 1 && size === undefined) throw invalidArgument("max-file can't be set when max-size is not set");
  }
  return { driver: d as (typeof drivers)[number], options, ...(size ? { maxSize: size } : {}) };
}
