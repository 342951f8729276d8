/** `info`, `system df`, `system prune` and `events`: flags in, engine calls, output printed. */
import type { Command } from 'commander';
import { errorMessage, invalidArgument } from '../core/errors.js';
import { parseSince } from '../engine/container/logs.js';
import type { EngineEvent } from '../engine/engine.js';
import { withEngine, withInterrupt } from './engine.js';
import { renderTemplate } from './go-template.js';
import { humanSize } from './image-actions.js';
import { printTable } from './table.js';

export async function infoAction(flags: { format?: string }, cmd: Command) {
  const info = await withEngine(cmd, (engine) => engine.system.info());
  if (flags.format === 'json' || flags.format === '{{json .}}') {
    process.stdout.write(`${JSON.stringify(info)}\n`);
    return;
  }
  if (flags.format) {
    process.stdout.write(`${renderTemplate(flags.format, info)}\n`);
    return;
  }
  for (const [k, v] of Object.entries(info))
    process.stdout.write(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}\n`);
}

const size = (n: number) =>
  n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)}MB` : `${(n / 1024).toFixed(1)}kB`;

export async function dfAction(_f: unknown, cmd: Command) {
  const du = await withEngine(cmd, (engine) => engine.system.df());
  printTable(
    ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE'],
    du.map((d) => [d.type, String(d.total), String(d.active), size(d.bytes)]),
  );
}

export async function pruneAction(flags: { volumes?: boolean; all?: boolean }, cmd: Command) {
  const { containers, networks, images, volumes } = await withEngine(cmd, (engine) =>
    engine.system.prune({ volumes: flags.volumes, all: flags.all }),
  );
  for (const { error } of containers.errors) process.stderr.write(`Error: ${errorMessage(error)}\n`);
  // Docker's sections, each followed by an empty line, then the total.
  const section = (title: string, lines: string[]) => {
    if (lines.length) process.stdout.write(`${title}:\n${lines.join('\n')}\n\n`);
  };
  section('Deleted Containers', containers.deleted);
  section('Deleted Networks', networks);
  section('Deleted Volumes', volumes.deleted);
  section(
    'Deleted Images',
    images.reports.map((r) => ('Untagged' in r ? `untagged: ${r.Untagged}` : `deleted: ${r.Deleted}`)),
  );
  process.stdout.write(
    `Total reclaimed space: ${humanSize(images.spaceReclaimed + volumes.spaceReclaimed, 4)}\n`,
  );
}

/** `--filter k=v` values grouped by key, as Docker's filter arguments are. */
function filterMap(values: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of values) {
    const i = f.indexOf('=');
    if (i <= 0) throw invalidArgument(`Invalid filter "${f}": use KEY=VALUE`);
    const key = f.slice(0, i);
    out[key] = [...(out[key] ?? []), f.slice(i + 1)];
  }
  return out;
}

/** Docker's default line: `TIME TYPE ACTION ID (k=v, ...)`. */
function eventLine(e: EngineEvent): string {
  // Docker prints nanoseconds; the journal keeps milliseconds.
  const time = new Date(Math.round(e.timeNano / 1e6)).toISOString().replace(/Z$/, '000000Z');
  const attrs = Object.entries(e.Actor.Attributes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `${time} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs ? ` (${attrs})` : ''}`;
}

export async function eventsAction(
  flags: { since?: string; until?: string; filter?: string[]; format?: string },
  cmd: Command,
) {
  const q = {
    ...(flags.since ? { since: parseSince(flags.since) } : {}),
    ...(flags.until ? { until: parseSince(flags.until) } : {}),
    filters: filterMap(flags.filter ?? []),
  };
  // Following ends on Ctrl-C or SIGTERM, as `docker events` does, with a clean exit.
  await withEngine(cmd, (engine) =>
    withInterrupt((signal) =>
      engine.system.events(
        q,
        (e) => {
          const line =
            flags.format === 'json' || flags.format === '{{json .}}'
              ? JSON.stringify(e)
              : flags.format
                ? renderTemplate(flags.format, e)
                : eventLine(e);
          process.stdout.write(`${line}\n`);
        },
        signal,
      ),
    ),
  );
}
