import { invalidArgument } from '../../core/errors.js';
import type { ImageRuntimeConfig } from './resolved-image.js';

/**
 * Applies `--change` instructions (the Dockerfile subset `docker import` and `docker commit`
 * accept: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, VOLUME, STOPSIGNAL) to an image
 * config, returning a new config.
 */
export function applyChanges(config: ImageRuntimeConfig, changes: readonly string[]): ImageRuntimeConfig {
  const out: ImageRuntimeConfig = structuredClone(config);
  for (const change of changes) {
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(change);
    if (!m) throw invalidArgument(`Invalid --change "${change}": expected an instruction and its arguments`);
    const op = m[1]!.toUpperCase();
    const arg = m[2]!.trim();
    switch (op) {
      case 'CMD':
        out.Cmd = commandForm(arg, change);
        break;
      case 'ENTRYPOINT':
        out.Entrypoint = commandForm(arg, change);
        break;
      case 'ENV':
        out.Env = mergeEnv(out.Env ?? [], keyValues(arg, change, true));
        break;
      case 'LABEL':
        out.Labels = { ...(out.Labels ?? {}), ...Object.fromEntries(keyValues(arg, change, false)) };
        break;
      case 'WORKDIR':
        out.WorkingDir = arg;
        break;
      case 'USER':
        out.User = arg;
        break;
      case 'STOPSIGNAL':
        out.StopSignal = arg;
        break;
      case 'EXPOSE':
        out.ExposedPorts = { ...(out.ExposedPorts ?? {}) };
        for (const p of arg.split(/\s+/)) {
          if (!/^\d{1,5}(\/(tcp|udp|sctp))?$/.test(p))
            throw invalidArgument(`Invalid --change "${change}": bad port "${p}"`);
          out.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
        }
        break;
      case 'VOLUME': {
        out.Volumes = { ...(out.Volumes ?? {}) };
        const paths = arg.startsWith('[') ? jsonArray(arg, change) : arg.split(/\s+/);
        for (const v of paths) out.Volumes[v] = {};
        break;
      }
      default:
        throw invalidArgument(
          `Invalid --change "${change}": ${op} is not supported (use CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, VOLUME or STOPSIGNAL)`,
        );
    }
  }
  return out;
}

function jsonArray(arg: string, change: string): string[] {
  try {
    const v: unknown = JSON.parse(arg);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    /* fall through */
  }
  throw invalidArgument(`Invalid --change "${change}": not a JSON array of strings`);
}

/** Exec form `["a","b"]` as is; shell form wrapped in `/bin/sh -c`, as Docker does. */
function commandForm(arg: string, change: string): string[] {
  if (arg.startsWith('[')) return jsonArray(arg, change);
  return ['/bin/sh', '-c', arg];
}

/** `k=v k2="v 2"`, or (for ENV) the legacy `k v with spaces`. */
function keyValues(arg: string, change: string, legacySpace: boolean): [string, string][] {
  if (legacySpace && !/^[^\s=]+=/.test(arg)) {
    const sp = arg.search(/\s/);
    if (sp < 0) throw invalidArgument(`Invalid --change "${change}": expected KEY=VALUE or KEY VALUE`);
    return [[arg.slice(0, sp), arg.slice(sp).trim()]];
  }
  const out: [string, string][] = [];
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  for (let m = re.exec(arg); m; m = re.exec(arg)) {
    let v = m[2]!;
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    else if (v.startsWith("'")) v = v.slice(1, -1);
    out.push([m[1]!, v]);
  }
  if (out.length === 0) throw invalidArgument(`Invalid --change "${change}": expected KEY=VALUE`);
  return out;
}

function mergeEnv(env: string[], add: [string, string][]): string[] {
  const map = new Map(env.map((e) => [e.split('=')[0]!, e] as const));
  for (const [k, v] of add) map.set(k, `${k}=${v}`);
  return [...map.values()];
}
