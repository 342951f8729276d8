/**
 * `create`: merges the image's config with the user's settings by Docker's rules, records
 * the container and makes its folder. Nothing is mounted or started yet, so a crash here
 * leaves at most a record in state `created`, which `rm` accepts.
 */

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { posix } from 'node:path';
import { invalidArgument, isAlreadyExists } from '../../core/errors.js';
import type { ResolvedImage } from '../image/resolved-image.js';
import type { PortMapping } from '../network/ports.js';
import { detectRuntime } from '../runtime/oci-runtime.js';
import { checkNamespaceMode, checkSysctls } from '../runtime/oci-spec.js';
import { customSeccompProfile } from '../runtime/seccomp.js';
import { type ContainerConfig, defaultContainerConfig, type MountSpec } from './config.js';
import type { EngineContext } from './context.js';
import { containerEvent } from './events.js';
import { mergeHealth, validateHealth } from './health.js';
import { randomName, validName } from './names.js';
import { checkNetworkMode } from './network.js';
import { containerPaths } from './paths.js';
import { type ContainerRecord, createdRecord } from './store.js';

/** What the user asked for; unset fields come from the image or Docker's defaults. */
export interface CreateOptions extends Partial<Omit<ContainerConfig, 'entrypoint' | 'cmd'>> {
  name?: string;
  /** `--entrypoint`: replaces the image's; '' (or an empty list) clears it. */
  entrypoint?: string | string[];
  /** The command after the image name; empty keeps the image's Cmd. */
  command?: string[];
}

/** Merges image config and options into a container config (pure, Docker's precedence). */
export function mergeConfig(image: ResolvedImage, id: string, o: CreateOptions): ContainerConfig {
  const ic = image.config;
  const entrypoint =
    o.entrypoint === undefined
      ? (ic.Entrypoint ?? [])
      : typeof o.entrypoint === 'string'
        ? o.entrypoint
          ? [o.entrypoint]
          : []
        : o.entrypoint;
  // A new entrypoint drops the image's Cmd, as in Docker.
  const cmd = o.command?.length ? o.command : o.entrypoint !== undefined ? [] : (ic.Cmd ?? []);
  const mounts: MountSpec[] = [...(o.mounts ?? [])];
  for (const dest of Object.keys(ic.Volumes ?? {})) {
    if (!mounts.some((m) => m.destination === dest) && !o.tmpfs?.some((t) => t.destination === dest))
      mounts.push({ type: 'volume', source: '', destination: dest, readOnly: false, anonymous: true });
  }
  const { name: _n, command: _c, entrypoint: _e, ...rest } = o;
  return defaultContainerConfig({
    ...rest,
    imageId: image.id,
    imageName: image.name,
    entrypoint,
    cmd,
    env: [...(ic.Env ?? []), ...(o.env ?? [])],
    workingDir: o.workingDir || ic.WorkingDir || '',
    user: o.user || ic.User || '',
    hostname: o.hostname || id.slice(0, 12),
    labels: { ...(ic.Labels ?? {}), ...(o.labels ?? {}) },
    stopSignal: o.stopSignal || ic.StopSignal || 'SIGTERM',
    healthcheck: mergeHealth(ic.Healthcheck, o.healthcheck),
    mounts,
    ports: withExposed(
      o.ports ?? [],
      o.publishAll ? [...new Set([...Object.keys(ic.ExposedPorts ?? {}), ...(o.expose ?? [])])] : [],
    ),
  });
}

/** `-P`: each exposed port (`80/tcp`) not already published gets a random host port. */
function withExposed(ports: PortMapping[], exposed: string[]): PortMapping[] {
  const out = [...ports];
  for (const e of exposed) {
    const [p, proto = 'tcp'] = e.split('/');
    const containerPort = Number(p);
    if (!Number.isInteger(containerPort) || (proto !== 'tcp' && proto !== 'udp')) continue;
    if (!out.some((x) => x.containerPort === containerPort && x.protocol === proto)) {
      out.push({ hostIP: '', hostPort: 0, containerPort, protocol: proto });
    }
  }
  return out;
}

/**
 * Refuses mounts that can never start, with Docker's words: a bind, volume or tmpfs over the
 * container's root would hide the image (runc fails on it at start, after the record exists).
 */
export function checkMounts(config: Pick<ContainerConfig, 'mounts' | 'tmpfs'>): void {
  const isRoot = (p: string) => posix.normalize(p) === '/';
  for (const m of config.mounts) {
    if (m.requireSource && !existsSync(m.source))
      throw invalidArgument(
        `invalid mount config for type "bind": bind source path does not exist: ${m.source}`,
      );
    if (!isRoot(m.destination)) continue;
    const spec = m.anonymous ? m.destination : `${m.source}:${m.destination}`;
    throw invalidArgument(
      `invalid volume specification: '${spec}': invalid mount config for type "${m.type}": invalid specification: destination can't be '/'`,
    );
  }
  // Docker's daemon: one mount per container path, whichever flag made it.
  const seen = new Set<string>();
  for (const d of [...config.mounts, ...config.tmpfs].map((m) => posix.normalize(m.destination))) {
    if (seen.has(d)) throw invalidArgument(`Duplicate mount point: ${d}`);
    seen.add(d);
  }
  for (const t of config.tmpfs) {
    if (isRoot(t.destination))
      throw invalidArgument(
        `invalid mount config for type "tmpfs": invalid specification: destination can't be '/'`,
      );
  }
}

/** dockerd's smallest memory limit: a container cannot even start under it. */
const MIN_MEMORY = 6 * 1024 * 1024;

/** Docker's daemon check of `--memory` (0 is no limit), with its message. */
export function checkMemory(bytes: number): void {
  if (bytes > 0 && bytes < MIN_MEMORY) throw invalidArgument('Minimum memory limit allowed is 6MB');
}

/**
 * Docker's daemon check of `--cpus`: at least 0.01 and at most the machine's CPUs, with its
 * message ("Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available").
 */
export function checkCpus(nanoCpus: number, cpuCount = availableParallelism()): void {
  if (nanoCpus === 0) return;
  if (nanoCpus < 1e7 || nanoCpus > cpuCount * 1e9)
    throw invalidArgument(
      `Range of CPUs is from 0.01 to ${cpuCount.toFixed(2)}, as there are only ${cpuCount} CPUs available`,
    );
}

/** Creates a container record (and its anonymous volumes); returns it. */
export function createContainer(ctx: EngineContext, image: ResolvedImage, o: CreateOptions): ContainerRecord {
  if (o.name !== undefined && !validName.test(o.name))
    throw invalidArgument(`Invalid container name (${o.name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  if (o.restart && o.restart.name !== 'no' && o.autoRemove)
    throw invalidArgument('Conflicting options: --restart and --rm cannot be used together');
  const id = randomBytes(32).toString('hex');
  const config = mergeConfig(image, id, o);
  checkMounts(config);
  checkCpus(config.nanoCpus);
  checkMemory(config.memory);
  checkSysctls(config.sysctls ?? {}, config.network);
  for (const flag of ['ipc', 'pid', 'uts'] as const) checkNamespaceMode(flag, config[flag]);
  if (config.healthcheck) validateHealth(config.healthcheck);
  if (config.seccomp && config.seccomp !== 'unconfined') customSeccompProfile(config.seccomp, []);
  checkNetworkMode(ctx, config.network);
  const runtime = detectRuntime(ctx.runroot, config.runtime);
  for (const m of config.mounts) {
    if (m.type !== 'volume') continue;
    const v = ctx.volumes.create(m.source, { anonymous: m.anonymous, ifMissing: true });
    m.source = v.Name;
  }
  const paths = containerPaths(ctx, id);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const base = createdRecord(id, o.name?.replace(/^\//, '') ?? '', config, runtime.name);
  try {
    if (o.name !== undefined) {
      ctx.containers.insert(base);
      containerEvent(ctx, base, 'create');
      return base;
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const rec = { ...base, name: randomName(attempt) };
        ctx.containers.insert(rec);
        containerEvent(ctx, rec, 'create');
        return rec;
      } catch (e) {
        if (!isAlreadyExists(e) || attempt > 20) throw e;
      }
    }
  } catch (e) {
    rmSync(paths.dir, { recursive: true, force: true });
    for (const m of config.mounts) if (m.anonymous) ctx.volumes.remove(m.source, [], true);
    throw e;
  }
}
