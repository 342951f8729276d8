/**
 * The container commands' actions: each parses its flags, makes one engine call per
 * container and prints the result. A bulk command reports each item and fails (exit 1)
 * only after trying them all, as Docker does.
 */

import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { BerthError, errorMessage, invalidArgument } from '../core/errors.js';
import { dockerTimestamp, parseSince, parseTail } from '../engine/container/logs.js';
import type { Engine, ImageSource } from '../engine/engine.js';
import type { LogEntry } from '../engine/runtime/k8s-log.js';
import { type CreateFlags, createOptionsFromFlags } from './container-flags.js';
import { proxySignals, terminalSession, withEngine } from './engine.js';
import { alignTabs, formatRows } from './format.js';
import { renderTemplate } from './go-template.js';
import { printTable } from './table.js';

/** Where `create` and `run` get the image: pull progress and notices go to stderr. */
async function imageSource(image: string, flags: CreateFlags): Promise<ImageSource> {
  if (flags.rootfs) return { image, rootfs: true };
  const { streamProgress } = await import('../engine/registry/progress.js');
  return {
    image,
    pull: flags.pull,
    progress: streamProgress(process.stderr),
    notice: (line) => process.stderr.write(`${line}\n`),
  };
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

export async function createAction(image: string, command: string[], flags: CreateFlags, cmd: Command) {
  await withEngine(cmd, async (engine) => {
    const rec = await engine.containers.create(
      await imageSource(image, flags),
      createOptionsFromFlags(flags, command),
    );
    process.stdout.write(`${rec.id}\n`);
  });
}

export async function runAction(
  image: string,
  command: string[],
  flags: CreateFlags & { detach?: boolean },
  cmd: Command,
) {
  await withEngine(cmd, async (engine) => {
    const opts = createOptionsFromFlags(
      { ...flags, network: flags.network ?? (flags as { net?: string }).net },
      command,
    );
    const term = terminalSession({ interactive: !!flags.interactive && !flags.detach, tty: !!flags.tty });
    let unproxy = () => {};
    try {
      const r = await engine.containers.run(await imageSource(image, flags), opts, {
        ...term.streams,
        detach: !!flags.detach,
        onStarted: (rec) => {
          if (flags.detach) return;
          term.begin();
          unproxy = proxySignals(engine, rec.id, rec.config.tty);
        },
      });
      if (flags.detach) process.stdout.write(`${r.id}\n`);
      else process.exitCode = r.exitCode ?? 0;
    } finally {
      unproxy();
      term.end();
    }
  });
}

/** Attaches this terminal through `attach` (which resolves with the exit status) and sets the exit code. */
async function attachTerminal(
  engine: Engine,
  ref: string,
  interactive: boolean,
  attach: (streams: ReturnType<typeof terminalSession>['streams']) => Promise<number | undefined>,
): Promise<void> {
  const rec = engine.containers.get(ref);
  const term = terminalSession({ interactive: interactive && rec.config.openStdin, tty: rec.config.tty });
  const unproxy = proxySignals(engine, rec.id, rec.config.tty);
  term.begin();
  try {
    process.exitCode = (await attach(term.streams)) ?? 255;
  } finally {
    unproxy();
    term.end();
  }
}

export async function startAction(
  refs: string[],
  flags: { attach?: boolean; interactive?: boolean },
  cmd: Command,
) {
  await withEngine(cmd, async (engine) => {
    if (flags.attach && refs.length === 1) {
      await attachTerminal(engine, refs[0]!, !!flags.interactive, (streams) =>
        engine.containers.startAttached(refs[0]!, streams),
      );
      return;
    }
    await each(refs, async (ref) => {
      await engine.containers.start(ref);
      return ref;
    });
  });
}

/** Docker's column titles for `ps --format 'table ...'`. */
const PS_TITLES: Record<string, string> = {
  ID: 'CONTAINER ID',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Names: 'NAMES',
};

export async function psAction(
  flags: { all?: boolean; quiet?: boolean; trunc?: boolean; format?: string; filter?: string[] },
  cmd: Command,
) {
  await withEngine(cmd, (engine) => {
    const trunc = flags.trunc !== false;
    const query = { all: flags.all, filters: flags.filter ?? [] };
    if (flags.quiet) {
      for (const r of engine.containers.list(query))
        process.stdout.write(`${trunc ? r.id.slice(0, 12) : r.id}\n`);
      return;
    }
    const rows = engine.containers.ps({ ...query, trunc });
    if (flags.format === 'json' || flags.format === '{{json .}}') {
      for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
      return;
    }
    if (flags.format) {
      for (const line of formatRows(flags.format, rows, PS_TITLES)) process.stdout.write(`${line}\n`);
      return;
    }
    printTable(
      ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
      rows.map((r) => [r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names]),
    );
  });
}

export async function logsAction(
  ref: string,
  flags: { follow?: boolean; tail?: string; timestamps?: boolean; since?: string },
  cmd: Command,
) {
  await withEngine(cmd, async (engine) => {
    const opts = {
      follow: !!flags.follow,
      tail: flags.tail === undefined ? undefined : parseTail(flags.tail),
      since: flags.since ? parseSince(flags.since) : undefined,
    };
    // conmon still writes the log of a `--log-driver none` container (attach follows it), but
    // `logs` refuses it, as Docker does.
    if (engine.containers.get(ref).config.log?.driver === 'none')
      throw new BerthError('NotImplemented', 'configured logging driver does not support reading');
    await engine.containers.logs(ref, opts, (e: LogEntry) => {
      const out = e.stream === 'stderr' ? process.stderr : process.stdout;
      if (flags.timestamps) out.write(`${dockerTimestamp(e.time)} `);
      out.write(e.data);
    });
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
  await withEngine(cmd, async (engine) => {
    // The runtime gets this terminal itself (by file descriptor): it sets raw mode and sizes it.
    try {
      process.exitCode = await engine.containers.exec(ref, {
        command,
        ...(flags.interactive ? { stdin: process.stdin } : {}),
        stdout: process.stdout,
        stderr: process.stderr,
        tty: !!flags.tty,
        detach: !!flags.detach,
        env: flags.env ?? [],
        user: flags.user ?? '',
        workdir: flags.workdir ?? '',
      });
    } finally {
      if (flags.interactive) process.stdin.destroy();
    }
  });
}

export async function attachAction(ref: string, flags: { stdin?: boolean }, cmd: Command) {
  await withEngine(cmd, (engine) =>
    attachTerminal(engine, ref, flags.stdin !== false, (streams) => engine.containers.attach(ref, streams)),
  );
}

const seconds = (t: string | undefined) => (t !== undefined ? Number(t) : undefined);

export async function stopAction(refs: string[], flags: { time?: string }, cmd: Command) {
  await withEngine(cmd, (engine) =>
    each(refs, async (ref) => {
      await engine.containers.stop(ref, seconds(flags.time));
      return ref;
    }),
  );
}

export async function killAction(refs: string[], flags: { signal: string }, cmd: Command) {
  await withEngine(cmd, (engine) =>
    each(refs, async (ref) => {
      await engine.containers.kill(ref, flags.signal);
      return ref;
    }),
  );
}

export async function restartAction(refs: string[], flags: { time?: string }, cmd: Command) {
  await withEngine(cmd, (engine) =>
    each(refs, async (ref) => {
      await engine.containers.restart(ref, seconds(flags.time));
      return ref;
    }),
  );
}

export async function rmAction(refs: string[], flags: { force?: boolean; volumes?: boolean }, cmd: Command) {
  await withEngine(cmd, (engine) =>
    each(refs, async (ref) => {
      await engine.containers.rm(ref, { force: flags.force, volumes: flags.volumes });
      return ref;
    }),
  );
}

export async function inspectAction(refs: string[], flags: { format?: string; type?: string }, cmd: Command) {
  // `container inspect` is about containers only; the top-level one takes any object, as Docker's.
  const type = cmd.parent?.name() === 'container' ? 'container' : flags.type;
  await withEngine(cmd, async (engine) => {
    const out: unknown[] = [];
    for (const ref of refs) {
      try {
        out.push(await engine.system.inspect(ref, type));
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
  });
}

export async function waitAction(refs: string[], _flags: unknown, cmd: Command) {
  await withEngine(cmd, (engine) => each(refs, async (ref) => String(await engine.containers.wait(ref))));
}

/** `docker top CONTAINER [ps OPTIONS]`: the options go to the host's ps, joined with spaces as Docker's CLI does. */
export async function topAction(ref: string, psOptions: string[], _flags: unknown, cmd: Command) {
  await withEngine(cmd, async (engine) => {
    const top = await engine.containers.top(ref, psOptions.join(' '));
    // Docker's CLI prints it through tabwriter.NewWriter(out, 20, 1, 3, ' ', 0).
    const lines = alignTabs(
      [top.titles, ...top.processes].map((r) => r.join('\t')),
      20,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}

const STATS_TITLES = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  PIDs: 'PIDS',
};

export async function statsAction(
  refs: string[],
  flags: { stream?: boolean; all?: boolean; format?: string },
  cmd: Command,
) {
  await withEngine(cmd, (engine) =>
    engine.containers.stats({ refs, all: flags.all, stream: flags.stream !== false }, (rows) => {
      if (flags.format === 'json' || flags.format === '{{json .}}') {
        for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
        return;
      }
      if (flags.stream !== false && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
      if (flags.format && flags.format !== 'table') {
        // Docker's stats fields, with its titles for `table` ({{.ID}} is the short ID too).
        const view = rows.map((r) => ({ ...r, ID: r.Container }));
        for (const line of formatRows(flags.format, view, STATS_TITLES)) process.stdout.write(`${line}\n`);
        return;
      }
      printTable(
        ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS'],
        rows.map((r) => [r.Container, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.PIDs]),
      );
    }),
  );
}

/** Runs `op` on each container, printing its reference when done (Docker's output for these commands). */
function onEach(refs: string[], cmd: Command, op: (engine: Engine, ref: string) => Promise<void>) {
  return withEngine(cmd, (engine) =>
    each(refs, async (ref) => {
      await op(engine, ref);
      return ref;
    }),
  );
}

export async function pauseAction(refs: string[], _f: unknown, cmd: Command) {
  await onEach(refs, cmd, (engine, ref) => engine.containers.pause(ref));
}

export async function unpauseAction(refs: string[], _f: unknown, cmd: Command) {
  await onEach(refs, cmd, (engine, ref) => engine.containers.unpause(ref));
}

/** `docker update`: the same flag parsing as run's; prints each container as Docker does. */
export async function updateAction(
  refs: string[],
  flags: { memory?: string; cpus?: string; pidsLimit?: string; restart?: string },
  cmd: Command,
) {
  const parsed = createOptionsFromFlags(flags as CreateFlags, []);
  const o = {
    ...(flags.memory !== undefined ? { memory: parsed.memory } : {}),
    ...(flags.cpus !== undefined ? { nanoCpus: parsed.nanoCpus } : {}),
    ...(flags.pidsLimit !== undefined ? { pidsLimit: parsed.pidsLimit } : {}),
    ...(flags.restart !== undefined ? { restart: parsed.restart } : {}),
  };
  if (Object.keys(o).length === 0)
    throw invalidArgument('You must provide one or more flags when using this command.');
  await onEach(refs, cmd, (engine, ref) => engine.containers.update(ref, o));
}

/** `docker export`: the tar to `-o FILE` or stdout, which must not be a terminal (Docker's rule). */
export async function exportAction(ref: string, flags: { output?: string }, cmd: Command) {
  if (!flags.output && process.stdout.isTTY)
    throw invalidArgument('Cowardly refusing to save to a terminal. Use the -o flag or redirect');
  const out = flags.output ? createWriteStream(flags.output) : process.stdout;
  await withEngine(cmd, (engine) => engine.containers.export(ref, out));
  if (out !== process.stdout)
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

/** `docker port`: `80/tcp -> 0.0.0.0:8080` lines, or only the addresses for one port. */
export async function portAction(
  ref: string,
  privatePort: string | undefined,
  _flags: unknown,
  cmd: Command,
) {
  const list = await withEngine(cmd, (engine) => engine.containers.ports(ref, privatePort));
  for (const p of list) process.stdout.write(privatePort ? `${p.public}\n` : `${p.private} -> ${p.public}\n`);
}

export async function renameAction(ref: string, name: string, _flags: unknown, cmd: Command) {
  await withEngine(cmd, (engine) => engine.containers.rename(ref, name));
}

/** `CONTAINER:PATH` -> [container, path]; a host path (or `-`) -> undefined. */
function splitContainerPath(arg: string): [string, string] | undefined {
  if (arg.startsWith('/') || arg.startsWith('.')) return undefined;
  const i = arg.indexOf(':');
  if (i <= 0) return undefined;
  return [arg.slice(0, i), arg.slice(i + 1)];
}

/**
 * `docker cp`: one side is CONTAINER:PATH, the other a host path or `-`, a tar stream (out
 * of the container to stdout, or from stdin into a folder of it), with Docker's messages.
 */
export async function cpAction(
  src: string,
  dest: string,
  flags: { followLink?: boolean; archive?: boolean },
  cmd: Command,
) {
  const s = splitContainerPath(src);
  const d = splitContainerPath(dest);
  if (s && d) throw invalidArgument('copying between containers is not supported');
  if (!s && !d) throw invalidArgument('must specify at least one container source');
  await withEngine(cmd, async (engine) => {
    if (s && dest === '-') {
      await engine.containers.archive(s[0], s[1], process.stdout);
      return;
    }
    const archive = flags.archive ?? false;
    if (s) return engine.containers.copyFrom(s[0], s[1], dest, { follow: flags.followLink, archive });
    const [ref, inner] = d!;
    if (src === '-') return engine.containers.extract(ref, inner, process.stdin, { keepOwners: archive });
    return engine.containers.copyTo(ref, src, inner, { archive });
  });
}

export async function commitAction(
  ref: string,
  reference: string | undefined,
  flags: { author?: string; message?: string; change?: string[]; pause?: boolean },
  cmd: Command,
) {
  const id = await withEngine(cmd, (engine) =>
    engine.containers.commit(ref, {
      reference,
      author: flags.author,
      message: flags.message,
      changes: flags.change,
      pause: flags.pause,
    }),
  );
  process.stdout.write(`${id}\n`);
}

export async function diffAction(ref: string, _flags: unknown, cmd: Command) {
  const changes = await withEngine(cmd, (engine) => engine.containers.diff(ref));
  for (const c of changes) process.stdout.write(`${c.kind} ${c.path}\n`);
}

export async function cleanupAction(id: string, _flags: unknown, cmd: Command) {
  await withEngine(cmd, (engine) => engine.containers.cleanup(id));
}
