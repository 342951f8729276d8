/**
 * Turning `create`/`run` flags into engine options, with Docker's syntax and error messages.
 * Pure except for reading `--env-file` files and the current environment for `-e NAME`.
 */

import { readFileSync } from 'node:fs';
import { invalidArgument } from '../core/errors.js';
import { parseDuration } from '../engine/build/config-step.js';
import { type RestartPolicy, ULIMIT_NAMES } from '../engine/container/config.js';
import type { CreateOptions } from '../engine/container/create.js';
import { logConfig } from '../engine/container/log-config.js';
import { parseMount, parseTmpfs, parseVolume } from '../engine/container/mount-spec.js';
import type { HealthConfig } from '../engine/image/resolved-image.js';
import { parseIPv4 } from '../engine/network/cidr.js';
import { parsePortSpec } from '../engine/network/ports.js';

/** The raw flags commander collects for `create` and `run`. */
export interface CreateFlags {
  name?: string;
  /** `--pull`: always, missing or never (handled before the container is made). */
  pull?: string;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  hostname?: string;
  label?: string[];
  volume?: string[];
  tmpfs?: string[];
  mount?: string[];
  logDriver?: string;
  logOpt?: string[];
  device?: string[];
  cgroupns?: string;
  readOnly?: boolean;
  memory?: string;
  cpus?: string;
  pidsLimit?: string;
  cpuShares?: string;
  cpuQuota?: string;
  cpuPeriod?: string;
  cgroupParent?: string;
  groupAdd?: string[];
  ipc?: string;
  pid?: string;
  uts?: string;
  shmSize?: string;
  sysctl?: string[];
  ulimit?: string[];
  restart?: string;
  init?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  securityOpt?: string[];
  network?: string;
  publish?: string[];
  publishAll?: boolean;
  ip?: string;
  macAddress?: string;
  dns?: string[];
  addHost?: string[];
  networkAlias?: string[];
  runtime?: string;
  rm?: boolean;
  interactive?: boolean;
  tty?: boolean;
  stopSignal?: string;
  stopTimeout?: string;
  rootfs?: boolean;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  /** commander's name for `--no-healthcheck`: false when given. */
  healthcheck?: boolean;
}

const units: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `512m`, `1g`, `1048576` -> bytes (binary units, as Docker). */
export function parseMemory(value: string, flag = '--memory'): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(value.trim());
  if (!m) throw invalidArgument(`Invalid value "${value}" for ${flag}: use a size like 512m or 1g`);
  const bytes = Math.floor(Number(m[1]) * units[m[2]!.toLowerCase()]!);
  if (flag === '--memory' && bytes > 0 && bytes < 6 * 1024 * 1024)
    throw invalidArgument(`Invalid value "${value}" for --memory: the minimum allowed is 6MB`);
  return bytes;
}

/** A whole-number flag, refused with Docker's (pflag's) message: `invalid argument "abc" for "--stop-timeout" flag: ...`. */
export function parseIntFlag(value: string, flag: string): number {
  if (!/^[+-]?\d+$/.test(value.trim()))
    throw invalidArgument(
      `invalid argument "${value}" for "${flag}" flag: strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`,
    );
  return Number.parseInt(value, 10);
}

/** A Go duration flag, refused with Docker's (pflag's) message. */
function parseDurationFlag(value: string, flag: string): number {
  try {
    return parseDuration(value);
  } catch {
    throw invalidArgument(
      `invalid argument "${value}" for "${flag}" flag: time: invalid duration "${value}"`,
    );
  }
}

/** `--health-*` and `--no-healthcheck` as Docker's `HealthConfig` (zero fields fall back to the image's). */
export function parseHealthFlags(f: CreateFlags): HealthConfig | undefined {
  const given =
    f.healthCmd !== undefined ||
    f.healthInterval !== undefined ||
    f.healthTimeout !== undefined ||
    f.healthRetries !== undefined ||
    f.healthStartPeriod !== undefined;
  if (f.healthcheck === false) {
    if (given) throw invalidArgument('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!given) return undefined;
  const h: HealthConfig = { Test: f.healthCmd ? ['CMD-SHELL', f.healthCmd] : [] };
  if (f.healthInterval !== undefined) h.Interval = parseDurationFlag(f.healthInterval, '--health-interval');
  if (f.healthTimeout !== undefined) h.Timeout = parseDurationFlag(f.healthTimeout, '--health-timeout');
  if (f.healthStartPeriod !== undefined)
    h.StartPeriod = parseDurationFlag(f.healthStartPeriod, '--health-start-period');
  if (f.healthRetries !== undefined) h.Retries = parseIntFlag(f.healthRetries, '--health-retries');
  return h;
}

/** `--device HOST[:CONTAINER][:PERMISSIONS]` with Docker's CLI checks (opts.ValidateDevice). */
export function parseDevice(spec: string): {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
} {
  const fail = (why: string) => invalidArgument(`invalid argument "${spec}" for "--device" flag: ${why}`);
  const parts = spec.split(':');
  let perms = 'rwm';
  if (parts.length > 1 && /^[rwm]{1,3}$/.test(parts.at(-1)!)) perms = parts.pop()!;
  else if (parts.length === 3) throw fail(`bad mode specified: ${parts[2]}`);
  if (parts.length > 2 || !parts[0]) throw fail(`bad format for path: ${spec}`);
  const [host, ctr = host] = parts as [string, string?];
  if (!host.startsWith('/')) throw fail(`${host} is not an absolute path`);
  if (!ctr!.startsWith('/')) throw fail(`${ctr} is not an absolute path`);
  return { PathOnHost: host, PathInContainer: ctr!, CgroupPermissions: perms };
}

/** `--sysctl KEY=VALUE` (repeatable). */
export function parseSysctls(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0)
      throw invalidArgument(`invalid argument "${v}" for "--sysctl" flag: sysctl '${v}' is not allowed`);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

/** `--ulimit NAME=SOFT[:HARD]` with Docker's names and messages. */
export function parseUlimit(value: string): { Name: string; Soft: number; Hard: number } {
  const bad = (why: string) => invalidArgument(`invalid argument "${value}" for "--ulimit" flag: ${why}`);
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(value);
  if (!m) throw bad(`invalid ulimit argument: ${value}`);
  const [, name, softText, hardText] = m as unknown as [string, string, string, string | undefined];
  if (!ULIMIT_NAMES.has(name)) throw bad(`invalid ulimit type: ${name}`);
  const soft = Number(softText);
  const hard = hardText === undefined ? soft : Number(hardText);
  // An unlimited value is 2^64-1 in the OCI spec, which JSON numbers here cannot carry exactly.
  if (soft < 0 || hard < 0) throw bad('unlimited (-1) is not supported yet: give a number');
  if (soft > hard) throw bad(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: name, Soft: soft, Hard: hard };
}

/** `1.5` -> 1.5e9 NanoCpus. */
export function parseCpus(value: string): number {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value.trim()) || !Number.isFinite(n) || n <= 0)
    throw invalidArgument(`Invalid value "${value}" for --cpus: use a positive number like 0.5 or 2`);
  return Math.round(n * 1e9);
}

/**
 * One `--security-opt`: `no-new-privileges[:true]`, `seccomp=unconfined` or `seccomp=FILE`
 * (the file is read now, as Docker's client does, so the container keeps the profile it was
 * made with). `=` and `:` both separate, as in Docker.
 */
export function parseSecurityOpt(spec: string): Pick<CreateOptions, 'noNewPrivileges' | 'seccomp'> {
  const m = /^([a-z-]+)(?:[=:](.*))?$/.exec(spec);
  const [key, value] = [m?.[1], m?.[2]];
  if (key === 'no-new-privileges' && (value === undefined || value === 'true'))
    return { noNewPrivileges: true };
  if (key === 'no-new-privileges' && value === 'false') return { noNewPrivileges: false };
  if (key === 'seccomp' && value === 'unconfined') return { seccomp: 'unconfined' };
  if (key === 'seccomp' && value) {
    try {
      return { seccomp: readFileSync(value, 'utf8') };
    } catch (e) {
      throw invalidArgument(`Cannot read seccomp profile "${value}": ${(e as Error).message}`);
    }
  }
  throw invalidArgument(
    `Unsupported --security-opt "${spec}": Berth supports no-new-privileges, seccomp=unconfined and seccomp=FILE`,
  );
}

/** `no`, `always`, `unless-stopped`, `on-failure[:N]`. */
export function parseRestart(spec: string): RestartPolicy {
  const [name, count] = spec.split(':');
  if (name === 'on-failure') {
    const n = count === undefined ? 0 : Number(count);
    if (!Number.isInteger(n) || n < 0)
      throw invalidArgument(`Invalid restart policy "${spec}": the count must be a whole number`);
    return { name, maximumRetryCount: n };
  }
  if ((name === 'no' || name === 'always' || name === 'unless-stopped') && count === undefined)
    return { name, maximumRetryCount: 0 };
  throw invalidArgument(`Invalid restart policy "${spec}": use no, always, unless-stopped or on-failure[:N]`);
}

/** `-e K=V` as given; `-e K` takes K from this process's environment (dropped when unset). */
export function parseEnv(values: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (const v of values) {
    if (v.startsWith('=')) throw invalidArgument(`Invalid environment variable "${v}"`);
    if (v.includes('=')) out.push(v);
    else if (env[v] !== undefined) out.push(`${v}=${env[v]}`);
  }
  return out;
}

/** An env file: `K=V` lines, `#` comments and blank lines skipped. */
export function readEnvFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw invalidArgument(`Cannot read env file "${path}": ${(e as Error).message}`);
  }
  return parseEnv(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
  );
}

function parseLabels(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    out[i < 0 ? v : v.slice(0, i)] = i < 0 ? '' : v.slice(i + 1);
  }
  return out;
}

/** All create/run flags -> engine options. `command` is what follows the image. */
export function createOptionsFromFlags(f: CreateFlags, command: string[]): CreateOptions {
  const o: CreateOptions = { command };
  if (f.name !== undefined) o.name = f.name;
  const env = [...(f.envFile ?? []).flatMap(readEnvFile), ...parseEnv(f.env ?? [])];
  if (env.length) o.env = env;
  if (f.workdir) {
    if (!f.workdir.startsWith('/'))
      throw invalidArgument(`Invalid --workdir "${f.workdir}": the path must be absolute`);
    o.workingDir = f.workdir;
  }
  if (f.user) o.user = f.user;
  if (f.entrypoint !== undefined) o.entrypoint = f.entrypoint;
  if (f.hostname) o.hostname = f.hostname;
  if (f.label?.length) o.labels = parseLabels(f.label);
  if (f.volume?.length) o.mounts = f.volume.map(parseVolume);
  if (f.tmpfs?.length) o.tmpfs = f.tmpfs.map(parseTmpfs);
  for (const m of (f.mount ?? []).map(parseMount)) {
    if (m.mount) o.mounts = [...(o.mounts ?? []), m.mount];
    else o.tmpfs = [...(o.tmpfs ?? []), m.tmpfs];
  }
  if (f.readOnly) o.readOnly = true;
  if (f.memory !== undefined) o.memory = parseMemory(f.memory);
  if (f.cpus !== undefined) o.nanoCpus = parseCpus(f.cpus);
  if (f.shmSize !== undefined) o.shmSize = parseMemory(f.shmSize, '--shm-size');
  if (f.sysctl?.length) o.sysctls = parseSysctls(f.sysctl);
  if (f.ulimit?.length) o.ulimits = f.ulimit.map(parseUlimit);
  if (f.pidsLimit !== undefined) {
    const n = Number(f.pidsLimit);
    if (!Number.isInteger(n))
      throw invalidArgument(`Invalid value "${f.pidsLimit}" for --pids-limit: use a whole number`);
    o.pidsLimit = Math.max(0, n);
  }
  if (f.cpuShares !== undefined) o.cpuShares = Math.max(0, parseIntFlag(f.cpuShares, '--cpu-shares'));
  if (f.cpuQuota !== undefined) o.cpuQuota = Math.max(0, parseIntFlag(f.cpuQuota, '--cpu-quota'));
  if (f.cpuPeriod !== undefined) o.cpuPeriod = Math.max(0, parseIntFlag(f.cpuPeriod, '--cpu-period'));
  if (f.cgroupParent) o.cgroupParent = f.cgroupParent;
  if (f.groupAdd?.length) o.groupAdd = f.groupAdd;
  if (f.ipc !== undefined) o.ipc = f.ipc;
  if (f.pid !== undefined) o.pid = f.pid;
  if (f.uts !== undefined) o.uts = f.uts;
  if (f.restart) o.restart = parseRestart(f.restart);
  if (f.init) o.init = true;
  if (f.capAdd?.length) o.capAdd = f.capAdd;
  if (f.capDrop?.length) o.capDrop = f.capDrop;
  if (f.privileged) o.privileged = true;
  for (const s of f.securityOpt ?? []) Object.assign(o, parseSecurityOpt(s));
  if (f.network !== undefined) {
    if (f.network === '' || /\s/.test(f.network)) throw invalidArgument(`Invalid --network "${f.network}"`);
    o.network = f.network === 'default' ? 'bridge' : f.network;
  }
  if (f.publish?.length) o.ports = f.publish.flatMap(parsePortSpec);
  if (f.publishAll) o.publishAll = true;
  if (f.ip) {
    parseIPv4(f.ip);
    o.ip = f.ip;
  }
  if (f.macAddress) {
    if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(f.macAddress))
      throw invalidArgument(
        `Invalid --mac-address "${f.macAddress}": expected six hex pairs like 02:42:ac:11:00:02`,
      );
    o.mac = f.macAddress.toLowerCase();
  }
  if (f.dns?.length) {
    for (const d of f.dns) parseIPv4(d);
    o.dns = f.dns;
  }
  if (f.addHost?.length) {
    for (const h of f.addHost) {
      const m = /^([^:=\s]+)[:=](.+)$/.exec(h);
      if (!m) throw invalidArgument(`Invalid --add-host "${h}": expected NAME:IP`);
      if (m[2] !== 'host-gateway') parseIPv4(m[2]!);
    }
    o.addHosts = f.addHost;
  }
  if (f.networkAlias?.length) o.networkAliases = f.networkAlias;
  if (
    (o.ports?.length || o.publishAll) &&
    (o.network === 'host' || o.network === 'none' || o.network?.startsWith('container:'))
  ) {
    throw invalidArgument(`Cannot publish ports with --network ${o.network}`);
  }
  if (f.runtime) o.runtime = f.runtime;
  if (f.rm) o.autoRemove = true;
  if (f.interactive) o.openStdin = true;
  if (f.tty) o.tty = true;
  if (f.stopTimeout !== undefined) o.stopTimeout = parseIntFlag(f.stopTimeout, '--stop-timeout');
  if (f.device?.length) o.devices = f.device.map(parseDevice);
  if (f.cgroupns !== undefined) {
    if (f.cgroupns !== 'host' && f.cgroupns !== 'private')
      throw invalidArgument(`--cgroupns: invalid CGROUP mode "${f.cgroupns}": use host or private`);
    o.cgroupns = f.cgroupns;
  }
  if (f.logDriver !== undefined || f.logOpt?.length) o.log = logConfig(f.logDriver, f.logOpt ?? []);
  const health = parseHealthFlags(f);
  if (health) o.healthcheck = health;
  return o;
}
