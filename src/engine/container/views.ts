/**
 * Docker-shaped views of containers, shared by every front end: `ps` rows (Docker's
 * `docker ps --format json` fields: status text, ports, names), `stats` rows with CPU
 * percentages from two samples, and the rule for which containers a prune removes.
 */
import { totalmem } from 'node:os';
import { invalidArgument, notFound } from '../../core/errors.js';
import { imageAsGiven } from './config.js';
import type { EngineContext } from './context.js';
import { healthSuffix, readHealth } from './health.js';
import { humanDuration, statusText } from './inspect.js';
import type { ContainerRecord } from './store.js';
import { statsOf } from './top-stats.js';

/** One row of `ps`, with Docker's field names. */
export interface PsRow {
  ID: string;
  Image: string;
  Command: string;
  CreatedAt: string;
  /** Docker's CREATED column: "5 seconds ago", "About an hour ago". */
  RunningFor: string;
  Status: string;
  State: string;
  Names: string;
  Labels: string;
  Mounts: string;
  Networks: string;
  Ports: string;
  ExitCode: number;
}

const short = (id: string) => id.slice(0, 12);

/** Docker's PORTS column: `0.0.0.0:8080->80/tcp` for each published port of a running container. */
export function portsText(ctx: EngineContext, id: string): string {
  return ctx.networks
    .attachmentsFor(id)
    .flatMap((a) => a.ports)
    .map((p) => `${p.hostIP || '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.protocol}`)
    .join(', ');
}

/** One published port, as `docker port` lists it. */
export interface PortMapping {
  /** `80/tcp` */
  private: string;
  /** `0.0.0.0:8080` */
  public: string;
}

/**
 * `docker port`: the running container's published ports, or with `privatePort` (`80`,
 * `80/udp`; tcp when no protocol is given) the host addresses of that one, which must be
 * published (Docker: "No public port '81/tcp' published for NAME").
 */
export function portMappings(ctx: EngineContext, r: ContainerRecord, privatePort?: string): PortMapping[] {
  const all = ctx.networks
    .attachmentsFor(r.id)
    .flatMap((a) => a.ports)
    .map((p) => ({
      private: `${p.containerPort}/${p.protocol}`,
      public: `${p.hostIP || '0.0.0.0'}:${p.hostPort}`,
    }));
  if (privatePort === undefined) return all;
  const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(privatePort);
  if (!m) throw invalidArgument(`Invalid port "${privatePort}": use PORT or PORT/PROTOCOL`);
  const want = `${m[1]}/${m[2] ?? 'tcp'}`;
  const found = all.filter((p) => p.private === want);
  if (found.length === 0) throw notFound(`No public port '${want}' published for ${r.name}`);
  return found;
}

/** A container as `ps` shows it; `trunc` shortens the ID and the command as Docker does. */
export function psRow(ctx: EngineContext, r: ContainerRecord, trunc: boolean): PsRow {
  const command = [...r.config.entrypoint, ...r.config.cmd].join(' ');
  return {
    ID: trunc ? short(r.id) : r.id,
    Image: imageAsGiven(r.config),
    // Docker quotes it (strconv.Quote) after shortening it to 20 characters.
    Command: JSON.stringify(
      trunc && [...command].length > 20 ? `${[...command].slice(0, 19).join('')}…` : command,
    ),
    CreatedAt: r.createdAt,
    RunningFor: `${humanDuration(Date.now() - Date.parse(r.createdAt))} ago`,
    Status: `${statusText(r)}${r.state === 'running' ? healthSuffix(readHealth(ctx, r)) : ''}`,
    State: r.state,
    Names: r.name,
    Labels: Object.entries(r.config.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    Mounts: r.config.mounts.map((m) => m.source).join(','),
    Networks: r.config.network,
    Ports: portsText(ctx, r.id),
    ExitCode: r.exitCode,
  };
}

/** Which containers `ps` lists: running ones, or all (a status filter looks at all, as in Docker). */
export function psListsAll(all: boolean | undefined, filters: readonly string[]): boolean {
  return !!all || filters.some((f) => f.startsWith('status=') || f.startsWith('exited='));
}

/** What `container prune` and `system prune` remove: containers that are not running. */
export function prunable(rec: ContainerRecord): boolean {
  return rec.state === 'exited' || rec.state === 'created' || rec.state === 'dead';
}

/** One row of `stats`, with Docker's field names and formatting. */
export interface StatsRow {
  Container: string;
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  PIDs: string;
}

const mib = (n: number) =>
  n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)}GiB` : `${(n / 1024 ** 2).toFixed(2)}MiB`;

/** CPU % needs two samples: this keeps the previous one per container. */
export class StatsSampler {
  private previous = new Map<string, number>();
  private at = process.hrtime.bigint();

  /** Takes the first sample (the rows of the next {@link sample} are relative to it). */
  prime(list: readonly ContainerRecord[]): void {
    this.previous = new Map(list.map((r) => [r.id, statsOf(r, totalmem()).cpuNanos]));
    this.at = process.hrtime.bigint();
  }

  /** Rows for `list`, CPU measured since the previous sample. */
  sample(list: readonly ContainerRecord[]): StatsRow[] {
    const now = process.hrtime.bigint();
    const elapsed = Number(now - this.at) || 1;
    this.at = now;
    return list.map((r) => {
      const s = statsOf(r, totalmem());
      const cpu = Math.max(0, ((s.cpuNanos - (this.previous.get(r.id) ?? s.cpuNanos)) / elapsed) * 100);
      this.previous.set(r.id, s.cpuNanos);
      return {
        Container: short(r.id),
        Name: r.name,
        CPUPerc: `${cpu.toFixed(2)}%`,
        MemUsage: `${mib(s.memoryUsage)} / ${mib(s.memoryLimit)}`,
        MemPerc: `${((s.memoryUsage / s.memoryLimit) * 100).toFixed(2)}%`,
        PIDs: String(s.pids),
      };
    });
  }
}
