/**
 * The instructions that only change the image config (ENV, LABEL, WORKDIR, USER, EXPOSE,
 * VOLUME, CMD, ENTRYPOINT, SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD, MAINTAINER): each applied
 * to a config with its words expanded, with the history text BuildKit writes for it.
 */
import { posix } from 'node:path';
import { invalidArgument } from '../../core/errors.js';
import type { ImageConfigFile } from '../image/oci.js';
import type { HealthConfig, ImageRuntimeConfig } from '../image/resolved-image.js';
import { flag, type Instruction } from './dockerfile.js';
import { expandWord, expandWords, splitKeepingQuotes } from './words.js';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/**
 * Applies `ins` to `c` (the runtime config inside `next`, changed in place). `cmdSet` says
 * whether CMD was set in this stage (an ENTRYPOINT then keeps it). Returns the history text.
 */
export function applyConfigInstruction(
  c: ImageRuntimeConfig,
  next: ImageConfigFile,
  ins: Instruction,
  vars: Map<string, string>,
  esc: string,
  cmdSetBefore: boolean,
): { createdBy: string; cmdSet: boolean } {
  let createdBy: string;
  let cmdSet = cmdSetBefore;
  switch (ins.cmd) {
    case 'ENV': {
      const pairs = keyValues(ins, vars, esc, true);
      const env = new Map((c.Env ?? []).map((e) => [e.split('=')[0]!, e] as const));
      for (const [k, v] of pairs) env.set(k, `${k}=${v}`);
      c.Env = [...env.values()];
      createdBy = `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
      break;
    }
    case 'LABEL': {
      const pairs = keyValues(ins, vars, esc, false);
      c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairs) };
      createdBy = `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
      break;
    }
    case 'MAINTAINER':
      next.author = ins.args;
      createdBy = `MAINTAINER ${ins.args}`;
      break;
    case 'WORKDIR': {
      const dir = expandWord(ins.args, vars, esc);
      c.WorkingDir = posix.resolve(c.WorkingDir || '/', dir);
      createdBy = `WORKDIR ${c.WorkingDir}`;
      break;
    }
    case 'USER':
      c.User = expandWord(ins.args, vars, esc);
      createdBy = `USER ${c.User}`;
      break;
    case 'STOPSIGNAL':
      c.StopSignal = expandWord(ins.args, vars, esc);
      createdBy = `STOPSIGNAL ${c.StopSignal}`;
      break;
    case 'EXPOSE': {
      c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
      for (const p of expandWords(ins.args, vars, esc))
        for (const port of exposedPorts(p)) c.ExposedPorts[port] = {};
      createdBy = `EXPOSE map[${Object.keys(c.ExposedPorts)
        .sort()
        .map((p) => `${p}:{}`)
        .join(' ')}]`;
      break;
    }
    case 'VOLUME': {
      const paths = ins.json ?? expandWords(ins.args, vars, esc);
      if (paths.some((p) => p.trim() === ''))
        throw invalidArgument('VOLUME specified can not be an empty string');
      c.Volumes = { ...(c.Volumes ?? {}) };
      for (const p of paths) c.Volumes[p] = {};
      createdBy = `VOLUME [${paths.join(' ')}]`;
      break;
    }
    case 'CMD':
    case 'ENTRYPOINT': {
      const cmd = ins.json ?? [...(c.Shell ?? DEFAULT_SHELL), ins.args];
      if (ins.cmd === 'CMD') {
        c.Cmd = cmd;
        cmdSet = true;
      } else {
        c.Entrypoint = cmd;
        // Docker: an ENTRYPOINT drops a CMD that came from the base image.
        if (!cmdSet) c.Cmd = null;
      }
      createdBy = `${ins.cmd} ${JSON.stringify(cmd)}`;
      break;
    }
    case 'SHELL':
      c.Shell = ins.json!;
      createdBy = `SHELL ${JSON.stringify(c.Shell)}`;
      break;
    case 'HEALTHCHECK':
      c.Healthcheck = healthcheck(ins);
      createdBy = `HEALTHCHECK ${JSON.stringify(c.Healthcheck)}`;
      break;
    case 'ONBUILD':
      c.OnBuild = [...(c.OnBuild ?? []), ins.args];
      createdBy = `ONBUILD ${ins.args}`;
      break;
    default:
      throw invalidArgument(`unknown instruction: ${ins.cmd}`);
  }
  return { createdBy, cmdSet };
}

/** ENV and LABEL pairs: `k=v k2="v 2"`, or (ENV only, no `=`) the legacy `ENV k v w`. */
function keyValues(
  ins: Instruction,
  vars: Map<string, string>,
  esc: string,
  legacy: boolean,
): [string, string][] {
  const words = splitKeepingQuotes(ins.args, esc);
  if (!words[0]!.includes('=')) {
    if (!legacy || words.length < 2) throw invalidArgument(`${ins.cmd} names must have a value: ${words[0]}`);
    const rest = ins.args.slice(ins.args.indexOf(words[0]!) + words[0]!.length).trim();
    return [[words[0]!, expandWord(rest, vars, esc)]];
  }
  const out: [string, string][] = [];
  // Later pairs on one line do not see earlier ones (Docker expands the line first).
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw invalidArgument(`${ins.cmd} expects KEY=VALUE pairs, not "${w}"`);
    out.push([expandWord(w.slice(0, eq), vars, esc), expandWord(w.slice(eq + 1), vars, esc)]);
  }
  return out;
}

/** `80`, `80/udp`, `8000-8002/tcp` as exposed-port keys. */
function exposedPorts(p: string): string[] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
  if (!m) throw invalidArgument(`invalid containerPort: ${p}`);
  const lo = Number(m[1]);
  const hi = m[2] ? Number(m[2]) : lo;
  if (hi < lo || hi > 65535) throw invalidArgument(`invalid port range: ${p}`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  const out: string[] = [];
  for (let port = lo; port <= hi; port++) out.push(`${port}/${proto}`);
  return out;
}

/** Go durations as HEALTHCHECK takes them (`30s`, `1m30s`, `500ms`), in nanoseconds. */
export function parseDuration(s: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let seen = '';
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * units[m[2]!]!;
    seen += m[0];
  }
  if (s === '0') return 0;
  if (seen !== s || s === '') throw invalidArgument(`invalid duration "${s}"`);
  return Math.round(total);
}

function healthcheck(ins: Instruction): HealthConfig {
  const words = ins.args.split(/\s+/);
  const kind = words[0]!.toUpperCase();
  if (kind === 'NONE') {
    if (words.length > 1) throw invalidArgument('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (kind !== 'CMD') throw invalidArgument(`Unknown type "${words[0]}" in HEALTHCHECK (try CMD)`);
  const rest = ins.args.slice(words[0]!.length).trim();
  if (rest === '') throw invalidArgument('Missing command after HEALTHCHECK CMD');
  let json: string[] | undefined;
  if (rest.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(rest);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) json = v;
    } catch {
      // Not JSON: the shell form, as Docker takes it.
    }
  }
  const hc: HealthConfig = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', rest] };
  const durations: [string, keyof HealthConfig][] = [
    ['interval', 'Interval'],
    ['timeout', 'Timeout'],
    ['start-period', 'StartPeriod'],
    ['start-interval', 'StartInterval'],
  ];
  for (const [name, field] of durations) {
    const v = flag(ins, name);
    if (v !== undefined) (hc as unknown as Record<string, number>)[field] = parseDuration(v);
  }
  const retries = flag(ins, 'retries');
  if (retries !== undefined) {
    if (!/^\d+$/.test(retries)) throw invalidArgument(`invalid --retries value "${retries}"`);
    hc.Retries = Number(retries);
  }
  return hc;
}
