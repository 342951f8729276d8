/**
 * The container commands' actions: each parses its flags, makes one engine call per
 * container and prints the result. A bulk command reports each item and fails (exit 1)
 * only after trying them all, as Docker does.
 */

import type { Command } from 'commander';
import { errorMessage } from '../core/errors.js';
import { attachContainer, logOffset } from '../engine/container/attach.js';
import { type EngineContext, openContext } from '../engine/container/context.js';
import { copyFromContainer, copyToContainer } from '../engine/container/copy.js';
import { type CreateOptions, createContainer } from '../engine/container/create.js';
import { execInContainer } from '../engine/container/exec.js';
import { rootfsImage, storeImage } from '../engine/container/image-source.js';
import { inspectContainer, statusText } from '../engine/container/inspect.js';
import {
  cleanupAfterExit,
  getContainer,
  killContainer,
  listContainers,
  removeContainer,
  stopContainer,
  waitContainer,
} from '../engine/container/lifecycle.js';
import { parseSince, parseTail, streamLogs } from '../engine/container/logs.js';
import { runContainer } from '../engine/container/run.js';
import { startContainer } from '../engine/container/start.js';
import { statsOf, topContainer } from '../engine/container/top-stats.js';
import type { ResolvedImage } from '../engine/image/resolved-image.js';
import { NetworkStore } from '../engine/network/network-store.js';
import type { LogEntry } from '../engine/runtime/k8s-log.js';
import { type CreateFlags, createOptionsFromFlags } from './container-flags.js';
import { renderTemplate } from './go-template.js';
import { psFilter } from './ps-filter.js';
import { printTable } from './table.js';

/** The engine store named by the global `--root` and `--runroot`. */
export function contextOf(cmd: Command): EngineContext {
  const g = cmd.optsWithGlobals() as { root: string; runroot: string };
  return openContext({ root: g.root, runroot: g.runroot });
}

async function imageFor(
  ctx: EngineContext,
  ref: string,
  rootfs: boolean | undefined,
  opts: CreateOptions,
  pull?: string,
): Promise<ResolvedImage> {
  if (!rootfs) {
    const { ensureImage, parsePullPolicy } = await import('../engine/registry/ensure.js');
    const { streamProgress } = await import('../engine/registry/progress.js');
    await ensureImage(ctx.root, ref, parsePullPolicy(pull), {
      progress: streamProgress(process.stderr),
      notice: (line) => process.stderr.write(`${line}\n`),
    });
    return storeImage(ctx.root, ref);
  }
  const image = rootfsImage(ref);
  opts.rootfs = image.name;
  return image;
}

/** Runs `fn` for each item, printing errors; sets exit status 1 if any failed. */
async function each(items: string[], fn: (item: string) => Promise<string | undefined>): Promise<void> {
  for (const item of items) {
    try {
      const out = await fn(item);
      if (out !== undefined) process.stdout.write(`${out}\n`);
    } catch (e) {
      process.stderr.write(`Error: ${errorMessage(e)}\n`);
      process.exitCode = 1;
    }
  }
}

const short = (id: string) => id.slice(0, 12);

export async function createAction(image: string, command: string[], flags: CreateFlags, cmd: Command) {
  const ctx = contextOf(cmd);
  const opts = createOptionsFromFlags(flags, command);
  const rec = createContainer(ctx, await imageFor(ctx, image, flags.rootfs, opts, flags.pull), opts);
  process.stdout.write(`${rec.id}\n`);
}

export async function runAction(
  image: string,
  command: string[],
  flags: CreateFlags & { detach?: boolean },
  cmd: Command,
) {
  const ctx = contextOf(cmd);
  const opts = createOptionsFromFlags(
    { ...flags, network: flags.network ?? (flags as { net?: string }).net },
    command,
  );
  const r = await runContainer(ctx, await imageFor(ctx, image, flags.rootfs, opts, flags.pull), opts, {
    detach: !!flags.detach,
    interactive: !!flags.interactive,
  });
  if (flags.detach) process.stdout.write(`${r.id}\n`);
  else process.exitCode = r.exitCode ?? 0;
}

export async function startAction(
  refs: string[],
  flags: { attach?: boolean; interactive?: boolean },
  cmd: Command,
) {
  const ctx = contextOf(cmd);
  if (flags.attach && refs.length === 1) {
    const before = getContainer(ctx, refs[0]!);
    const fromOffset = logOffset(ctx, before.id);
    const rec = await startContainer(ctx, before);
    const code = await attachContainer(ctx, rec, {
      stdin: !!flags.interactive,
      fromStart: false,
      fromOffset,
    });
    process.exitCode = code ?? 255;
    return;
  }
  await each(refs, async (ref) => {
    await startContainer(ctx, getContainer(ctx, ref));
    return ref;
  });
}

function psRow(r: ReturnType<typeof listContainers>[number], trunc: boolean, ports = '') {
  const command = [...r.config.entrypoint, ...r.config.cmd].join(' ');
  return {
    ID: trunc ? short(r.id) : r.id,
    Image: r.config.imageName,
    Command: trunc && command.length > 20 ? `${command.slice(0, 19)}…` : command,
    CreatedAt: r.createdAt,
    Status: statusText(r),
    State: r.state,
    Names: r.name,
    Labels: Object.entries(r.config.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    Mounts: r.config.mounts.map((m) => m.source).join(','),
    Networks: r.config.network,
    Ports: ports,
    ExitCode: r.exitCode,
  };
}

/** Docker's PORTS column: `0.0.0.0:8080->80/tcp` for each published port of a running container. */
function portsText(ctx: EngineContext, id: string): string {
  return new NetworkStore(ctx.db)
    .attachmentsFor(id)
    .flatMap((a) => a.ports)
    .map((p) => `${p.hostIP || '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.protocol}`)
    .join(', ');
}

export async function psAction(
  flags: { all?: boolean; quiet?: boolean; trunc?: boolean; format?: string; filter?: string[] },
  cmd: Command,
) {
  const ctx = contextOf(cmd);
  const match = psFilter(flags.filter ?? []);
  // A status filter looks at all containers, as in Docker.
  const all =
    flags.all || (flags.filter ?? []).some((f) => f.startsWith('status=') || f.startsWith('exited='));
  const list = listContainers(ctx).filter(
    (r) => (all || r.state === 'running' || r.state === 'restarting') && match(r),
  );
  const trunc = flags.trunc !== false;
  if (flags.quiet) {
    for (const r of list) process.stdout.write(`${trunc ? short(r.id) : r.id}\n`);
    return;
  }
  const rows = list.map((r) => psRow(r, trunc, portsText(ctx, r.id)));
  if (flags.format === 'json' || flags.format === '{{json .}}') {
    for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
    return;
  }
  if (flags.format) {
    for (const row of rows) process.stdout.write(`${renderTemplate(flags.format, row)}\n`);
    return;
  }
  printTable(
    ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
    rows.map((r) => [
      r.ID,
      r.Image,
      `"${r.Command}"`,
      r.CreatedAt.slice(0, 19).replace('T', ' '),
      r.Status,
      r.Ports,
      r.Names,
    ]),
  );
}

export async function logsAction(
  ref: string,
  flags: { follow?: boolean; tail?: string; timestamps?: boolean; since?: string },
  cmd: Command,
) {
  const ctx = contextOf(cmd);
  const opts = {
    follow: !!flags.follow,
    tail: flags.tail === undefined ? undefined : parseTail(flags.tail),
    since: flags.since ? parseSince(flags.since) : undefined,
  };
  await streamLogs(ctx, getContainer(ctx, ref), opts, (e: LogEntry) => {
    const out = e.stream === 'stderr' ? process.stderr : process.stdout;
    if (flags.timestamps) out.write(`${e.time} `);
    out.write(e.data);
  });
}

export async function execAction(
  ref: string,
  command: string[],
  flags: {
    interactive?: boolean;
    tty?: boolean;
    detach?: boolean;
    env?: string[];
    user?: string;
    workdir?: string;
  },
  cmd: Command,
) {
  const ctx = contextOf(cmd);
  process.exitCode = await execInContainer(ctx, ref, {
    command,
    interactive: !!flags.interactive,
    tty: !!flags.tty,
    detach: !!flags.detach,
    env: flags.env ?? [],
    user: flags.user ?? '',
    workdir: flags.workdir ?? '',
  });
}

export async function attachAction(ref: string, flags: { stdin?: boolean }, cmd: Command) {
  const ctx = contextOf(cmd);
  const rec = getContainer(ctx, ref);
  if (rec.state !== 'running')
    throw new Error(`You cannot attach to a stopped container ${ref}; start it first`);
  process.exitCode =
    (await attachContainer(ctx, rec, { stdin: flags.stdin !== false, fromStart: false })) ?? 255;
}

export async function stopAction(refs: string[], flags: { time?: string }, cmd: Command) {
  const ctx = contextOf(cmd);
  await each(refs, async (ref) => {
    await stopContainer(ctx, ref, flags.time !== undefined ? Number(flags.time) : undefined);
    return ref;
  });
}

export async function killAction(refs: string[], flags: { signal: string }, cmd: Command) {
  const ctx = contextOf(cmd);
  await each(refs, async (ref) => {
    await killContainer(ctx, ref, flags.signal);
    return ref;
  });
}

export async function restartAction(refs: string[], flags: { time?: string }, cmd: Command) {
  const ctx = contextOf(cmd);
  await each(refs, async (ref) => {
    await stopContainer(ctx, ref, flags.time !== undefined ? Number(flags.time) : undefined);
    await startContainer(ctx, getContainer(ctx, ref));
    return ref;
  });
}

export async function rmAction(refs: string[], flags: { force?: boolean; volumes?: boolean }, cmd: Command) {
  const ctx = contextOf(cmd);
  await each(refs, async (ref) => {
    await removeContainer(ctx, ref, { force: flags.force, volumes: flags.volumes });
    return ref;
  });
}

export async function inspectAction(refs: string[], flags: { format?: string }, cmd: Command) {
  const ctx = contextOf(cmd);
  const out: unknown[] = [];
  for (const ref of refs) {
    try {
      out.push(inspectContainer(ctx, getContainer(ctx, ref)));
    } catch (e) {
      process.stderr.write(`Error: ${errorMessage(e)}\n`);
      process.exitCode = 1;
    }
  }
  if (flags.format && flags.format !== 'json') {
    for (const o of out) process.stdout.write(`${renderTemplate(flags.format, o)}\n`);
    return;
  }
  process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
}

export async function waitAction(refs: string[], _flags: unknown, cmd: Command) {
  const ctx = contextOf(cmd);
  await each(refs, async (ref) => String(await waitContainer(ctx, ref)));
}

export async function topAction(ref: string, _flags: unknown, cmd: Command) {
  const ctx = contextOf(cmd);
  const rows = await topContainer(ctx, getContainer(ctx, ref));
  printTable(
    ['UID', 'PID', 'PPID', 'CMD'],
    rows.map((r) => [String(r.uid), String(r.pid), String(r.ppid), r.cmd]),
  );
}

const mib = (n: number) =>
  n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)}GiB` : `${(n / 1024 ** 2).toFixed(2)}MiB`;

export async function statsAction(
  refs: string[],
  flags: { stream?: boolean; all?: boolean; format?: string },
  cmd: Command,
) {
  const ctx = contextOf(cmd);
  const { totalmem } = await import('node:os');
  const recs = () =>
    refs.length
      ? refs.map((r) => getContainer(ctx, r))
      : listContainers(ctx).filter((r) => flags.all || r.state === 'running');
  let previous = new Map<string, number>();
  let t0 = process.hrtime.bigint();
  // CPU % needs two samples: the first round waits 500 ms, later rounds use the last sample.
  for (let round = 0; ; round++) {
    const list = recs();
    if (round === 0) {
      previous = new Map(list.map((r) => [r.id, statsOf(r, totalmem()).cpuNanos]));
      await new Promise((r) => setTimeout(r, 500));
    }
    const now = process.hrtime.bigint();
    const elapsed = Number(now - t0) || 1;
    const rows = list.map((r) => {
      const s = statsOf(r, totalmem());
      const cpu = Math.max(0, ((s.cpuNanos - (previous.get(r.id) ?? s.cpuNanos)) / elapsed) * 100);
      previous.set(r.id, s.cpuNanos);
      return {
        Container: short(r.id),
        Name: r.name,
        CPUPerc: `${cpu.toFixed(2)}%`,
        MemUsage: `${mib(s.memoryUsage)} / ${mib(s.memoryLimit)}`,
        MemPerc: `${((s.memoryUsage / s.memoryLimit) * 100).toFixed(2)}%`,
        PIDs: String(s.pids),
      };
    });
    t0 = now;
    if (flags.format === 'json' || flags.format === '{{json .}}') {
      for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
    } else {
      if (flags.stream !== false && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
      printTable(
        ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS'],
        rows.map((r) => [r.Container, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.PIDs]),
      );
    }
    if (flags.stream === false) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export async function renameAction(ref: string, name: string, _flags: unknown, cmd: Command) {
  const ctx = contextOf(cmd);
  ctx.containers.rename(getContainer(ctx, ref).id, name);
}

/** `CONTAINER:PATH` -> [container, path]; a host path -> undefined. */
function splitContainerPath(arg: string): [string, string] | undefined {
  if (arg.startsWith('/') || arg.startsWith('.')) return undefined;
  const i = arg.indexOf(':');
  if (i <= 0) return undefined;
  return [arg.slice(0, i), arg.slice(i + 1)];
}

export async function cpAction(src: string, dest: string, _flags: unknown, cmd: Command) {
  const ctx = contextOf(cmd);
  const s = splitContainerPath(src);
  const d = splitContainerPath(dest);
  if (s && d) throw new Error('Copying between containers is not supported; copy through the host');
  if (s) await copyFromContainer(ctx, getContainer(ctx, s[0]), s[1], dest);
  else if (d) await copyToContainer(ctx, getContainer(ctx, d[0]), src, d[1]);
  else throw new Error('One of the paths must be CONTAINER:PATH');
}

export async function cleanupAction(id: string, _flags: unknown, cmd: Command) {
  await cleanupAfterExit(contextOf(cmd), id);
}
