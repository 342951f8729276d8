/** The volume commands' actions: flags in, one engine call per volume, output printed. */
import type { Command } from 'commander';
import { errorMessage } from '../core/errors.js';
import { withEngine } from './engine.js';
import { formatRows, labelList } from './format.js';
import { humanSize } from './image-actions.js';
import { printTable } from './table.js';

export async function volumeCreate(name: string | undefined, flags: { label?: string[] }, cmd: Command) {
  const labels = Object.fromEntries(
    (flags.label ?? []).map((l) => [l.split('=')[0]!, l.split('=').slice(1).join('=')]),
  );
  const v = await withEngine(cmd, (engine) => engine.volumes.create(name ?? '', { labels }));
  process.stdout.write(`${v.Name}\n`);
}

export async function volumeLs(flags: { quiet?: boolean; format?: string }, cmd: Command) {
  const list = await withEngine(cmd, (engine) => engine.volumes.list());
  if (flags.quiet) {
    for (const v of list) process.stdout.write(`${v.Name}\n`);
  } else if (flags.format === 'json') {
    for (const v of list) process.stdout.write(`${JSON.stringify(v)}\n`);
  } else if (flags.format && flags.format !== 'table') {
    // Docker's volume list fields for templates (`{{.Name}}`, `table ...`).
    const view = list.map((v) => ({
      Driver: v.Driver,
      Name: v.Name,
      Scope: v.Scope,
      Mountpoint: v.Mountpoint,
      Labels: labelList(v.Labels),
      Links: 'N/A',
      Size: 'N/A',
    }));
    for (const line of formatRows(flags.format, view, { Name: 'VOLUME NAME' }))
      process.stdout.write(`${line}\n`);
  } else {
    printTable(
      ['DRIVER', 'VOLUME NAME'],
      list.map((v) => [v.Driver, v.Name]),
    );
  }
}

export async function volumeInspect(names: string[], _f: unknown, cmd: Command) {
  await withEngine(cmd, (engine) => {
    const out: unknown[] = [];
    for (const n of names) {
      try {
        out.push(engine.volumes.inspect(n));
      } catch (e) {
        process.stderr.write(`Error: ${errorMessage(e)}\n`);
        process.exitCode = 1;
      }
    }
    process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
  });
}

export async function volumeRm(names: string[], flags: { force?: boolean }, cmd: Command) {
  await withEngine(cmd, (engine) => {
    for (const n of names) {
      try {
        engine.volumes.remove(n, { force: flags.force });
        process.stdout.write(`${n}\n`);
      } catch (e) {
        process.stderr.write(`Error: ${errorMessage(e)}\n`);
        process.exitCode = 1;
      }
    }
  });
}

export async function volumePrune(flags: { all?: boolean }, cmd: Command) {
  const { deleted, spaceReclaimed } = await withEngine(cmd, (engine) =>
    engine.volumes.prune({ all: flags.all }),
  );
  if (deleted.length) process.stdout.write(`Deleted Volumes:\n${deleted.join('\n')}\n\n`);
  process.stdout.write(`Total reclaimed space: ${humanSize(spaceReclaimed, 4)}\n`);
}
