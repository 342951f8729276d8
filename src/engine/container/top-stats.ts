/**
 * `top` and `stats`: the processes in a container (from the runtime's `ps`) and its resource
 * use, read from the container's cgroups (v1 controllers, or the v2 unified tree).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CGROUP_ROOT, isCgroupV2 } from '../../core/cgroup-version.js';
import { conflict, invalidArgument } from '../../core/errors.js';
import { run } from '../../core/exec.js';
import { detectRuntime, runRuntime } from '../runtime/oci-runtime.js';
import { cgroupsPathFor } from '../runtime/oci-spec.js';
import type { EngineContext } from './context.js';
import type { ContainerRecord } from './store.js';

/** `top`'s answer, as Docker's API has it: the columns of `ps` and one row per process. */
export interface TopResult {
  titles: string[];
  processes: string[][];
}

/**
 * Docker's check of `ps` options: a column may be renamed, but a PID column may not be given
 * another name (`-o pid=PID` is fine, `-o ppid=PID` would make the PPID look like the PID).
 */
export function validatePsArgs(psArgs: string): void {
  for (const m of psArgs.matchAll(/\s+([^\s]*)=\s*(PID[^\s]*)/g))
    if (m[1] !== 'pid') throw invalidArgument(`specifying "${m[1]}=${m[2]}" is not allowed`);
}

/**
 * The rows of `ps` output that belong to `pids`, found by its PID column; the last column
 * (the command) keeps its spaces. A thread line (`-` as PID, with `m`) belongs to the
 * process above it.
 */
export function parsePsOutput(output: string, pids: ReadonlySet<number>): TopResult {
  const lines = output.split('\n');
  const titles = (lines[0] ?? '').split(/[ \t]+/).filter(Boolean);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw invalidArgument("Couldn't find PID field in ps output");
  const processes: string[][] = [];
  const row = (fields: string[]) => [
    ...fields.slice(0, titles.length - 1),
    fields.slice(titles.length - 1).join(' '),
  ];
  let lastKept = false;
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const fields = line.split(/[ \t]+/).filter(Boolean);
    const pid = fields[pidIndex];
    if (pid === '-') {
      if (lastKept) processes.push(row(fields));
      continue;
    }
    const n = Number(pid);
    if (!Number.isInteger(n)) throw invalidArgument(`Unexpected pid '${pid}' in ps output`);
    lastKept = pids.has(n);
    if (lastKept) processes.push(row(fields));
  }
  return { titles, processes };
}

/**
 * The processes of a running container, as `ps` with `psArgs` (default `-ef`, Docker's) shows
 * them in the host's pid namespace, limited to the container's processes.
 */
export async function topContainer(
  ctx: EngineContext,
  rec: ContainerRecord,
  psArgs = '',
): Promise<TopResult> {
  // Docker lists a paused container's processes too (they exist, frozen).
  if (rec.state !== 'running' && rec.state !== 'paused') throw conflict(`Container ${rec.id} is not running`);
  const args = psArgs.trim() === '' ? '-ef' : psArgs;
  validatePsArgs(args);
  const runtime = detectRuntime(ctx.runroot, rec.config.runtime);
  const r = await runRuntime(runtime, ['ps', '--format', 'json', rec.id]);
  const pids = (JSON.parse(r.stdout || '[]') as number[] | null) ?? [];
  const words = args.split(' ').filter(Boolean);
  // Asking ps for these pids only is quicker; some options (such as f) refuse -q, so then all.
  let out = await run('ps', [...words, '-q', pids.join(',') || '1'], { check: false });
  if (out.code !== 0) out = await run('ps', words, { check: false });
  if (out.code !== 0) {
    const first = out.stderr.split('\n', 1)[0]?.trim();
    throw invalidArgument(`ps: ${first || `exit status ${out.code}`}`);
  }
  return parsePsOutput(out.stdout, new Set(pids));
}

/** Resource use of one container, as `docker stats` shows it. */
export interface ContainerStats {
  id: string;
  name: string;
  /** Cumulative CPU time in nanoseconds. */
  cpuNanos: number;
  memoryUsage: number;
  /** The memory limit; the host's memory when unlimited. */
  memoryLimit: number;
  pids: number;
  pidsLimit: number;
  /** Traffic of each interface of the container's own network namespace (not loopback). */
  networks: Record<string, InterfaceCounters>;
}

/** One interface's counters, as /proc/net/dev has them. */
export interface InterfaceCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/**
 * The interfaces of the network namespace process `pid` is in, from its /proc/PID/net/dev;
 * loopback is left out, as Docker's stats leave it out.
 */
export function interfaceCounters(pid: number): Record<string, InterfaceCounters> {
  const out: Record<string, InterfaceCounters> = {};
  if (pid <= 0) return out;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/net/dev`, 'utf8');
  } catch {
    return out;
  }
  // Two header lines, then `  eth0: rxBytes rxPackets rxErrs rxDrop fifo frame compressed multicast txBytes txPackets txErrs txDrop ...`.
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    out[m[1]!] = {
      rxBytes: f[0] ?? 0,
      rxPackets: f[1] ?? 0,
      rxErrors: f[2] ?? 0,
      rxDropped: f[3] ?? 0,
      txBytes: f[8] ?? 0,
      txPackets: f[9] ?? 0,
      txErrors: f[10] ?? 0,
      txDropped: f[11] ?? 0,
    };
  }
  return out;
}

const num = (p: string): number | undefined => {
  try {
    const t = readFileSync(p, 'utf8').trim();
    if (t === 'max') return undefined;
    const n = Number(t);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
};

/** Reads the container's cgroup counters (zero when it is not running). */
export function statsOf(rec: ContainerRecord, hostMemory: number): ContainerStats {
  const cg = cgroupsPathFor(rec.id, rec.config.cgroupParent);
  const base = CGROUP_ROOT;
  let cpuNanos = 0;
  let memoryUsage = 0;
  let memoryLimit: number | undefined;
  let pids = 0;
  let pidsLimit = 0;
  if (isCgroupV2(base)) {
    const d = join(base, cg);
    const usage = /usage_usec (\d+)/.exec(
      (() => {
        try {
          return readFileSync(join(d, 'cpu.stat'), 'utf8');
        } catch {
          return '';
        }
      })(),
    );
    cpuNanos = usage ? Number(usage[1]) * 1000 : 0;
    memoryUsage = num(join(d, 'memory.current')) ?? 0;
    memoryLimit = num(join(d, 'memory.max'));
    pids = num(join(d, 'pids.current')) ?? 0;
    pidsLimit = num(join(d, 'pids.max')) ?? 0;
  } else {
    cpuNanos =
      num(join(base, 'cpuacct', cg, 'cpuacct.usage')) ??
      num(join(base, 'cpu,cpuacct', cg, 'cpuacct.usage')) ??
      0;
    memoryUsage = num(join(base, 'memory', cg, 'memory.usage_in_bytes')) ?? 0;
    memoryLimit = num(join(base, 'memory', cg, 'memory.limit_in_bytes'));
    pids = num(join(base, 'pids', cg, 'pids.current')) ?? 0;
    pidsLimit = num(join(base, 'pids', cg, 'pids.max')) ?? 0;
  }
  if (memoryLimit === undefined || memoryLimit > hostMemory) memoryLimit = hostMemory;
  // The host's network is the host's traffic, not the container's: Docker shows none for it.
  const running = rec.state === 'running' || rec.state === 'paused';
  const networks = running && rec.config.network !== 'host' ? interfaceCounters(rec.pid) : {};
  return { id: rec.id, name: rec.name, cpuNanos, memoryUsage, memoryLimit, pids, pidsLimit, networks };
}

/** The host's total CPU time in nanoseconds (all CPUs, from /proc/stat), the base of `docker stats`' CPU %. */
export function hostCpuNanos(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const ticks = line
    .trim()
    .split(/\s+/)
    .slice(1, 8)
    .reduce((n, v) => n + Number(v), 0);
  // USER_HZ is 100 on every Linux ABI Berth runs on.
  return ticks * 1e7;
}
