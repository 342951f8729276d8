import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { isNotFound } from '../core/errors.js';
import { humanDuration } from '../engine/container/inspect.js';
import type { HistoryRow } from '../engine/image/history.js';
import { familiarName } from '../engine/image/reference.js';
import { imageSummary } from '../engine/image/views.js';
import { withEngine } from './engine.js';
import { formatRows, goTime } from './format.js';

/**
 * Opens an input file before anything is written: a missing file is a clear error up front,
 * not a stream error racing the store's temporary file (which would crash the command).
 */
async function openInput(path: string, verb: string): Promise<Readable> {
  const fh = await open(path, 'r').catch((e) => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`Cannot ${verb} "${path}": no such file`);
    throw new Error(`Cannot ${verb} "${path}": ${(e as Error).message}`);
  });
  return fh.createReadStream();
}

export async function importAction(
  cmd: Command,
  tarball: string,
  name: string | undefined,
  opts: { change: string[]; message?: string },
): Promise<void> {
  const source = tarball === '-' ? process.stdin : await openInput(tarball, 'import');
  const row = await withEngine(cmd, (engine) =>
    engine.images.import(source, {
      name,
      changes: opts.change,
      message: opts.message,
      sourceName: tarball === '-' ? 'standard input' : tarball,
      historySource: tarball,
    }),
  );
  process.stdout.write(`${row.id}\n`);
}

/** Docker's CREATED column of `images`; N/A for an image without a creation time. */
function ago(iso: string): string {
  const ms = Date.now() - Date.parse(iso);
  return Number.isFinite(ms) ? `${humanDuration(ms)} ago` : 'N/A';
}

/**
 * Sizes as Docker prints them: decimal units, `precision` significant digits without trailing
 * zeros (Go's %g): 3 in image lists, 4 in prune totals ("Total reclaimed space: 1.5kB").
 */
export function humanSize(bytes: number, precision = 3): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(precision))}${units[i]}`;
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows)
    process.stdout.write(
      `${r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]! + 3))).join('')}\n`,
    );
}

export async function listAction(
  cmd: Command,
  ref: string | undefined,
  opts: { quiet?: boolean; trunc: boolean; digests?: boolean; format?: string; filter?: string[] },
): Promise<void> {
  const rows = await withEngine(cmd, (engine) => engine.images.filtered(ref, opts.filter ?? []));
  const short = (id: string) => (opts.trunc ? id.slice(7, 19) : id);
  if (opts.quiet) {
    for (const id of new Set(rows.map((r) => short(r.id)))) process.stdout.write(`${id}\n`);
    return;
  }
  const lines: { repo: string; tag: string; row: (typeof rows)[number] }[] = [];
  for (const r of rows) {
    if (r.names.length === 0) {
      // Pulled by digest only: Docker lists its repository with the tag <none>.
      const repos = new Set(r.digests.map((d) => familiarName(d.slice(0, d.lastIndexOf('@')))));
      if (repos.size === 0) lines.push({ repo: '<none>', tag: '<none>', row: r });
      for (const repo of repos) lines.push({ repo, tag: '<none>', row: r });
    }
    for (const n of r.names) {
      const f = familiarName(n);
      const i = f.lastIndexOf(':');
      lines.push({ repo: f.slice(0, i), tag: f.slice(i + 1), row: r });
    }
  }
  if (opts.format === 'json') {
    process.stdout.write(`${JSON.stringify(rows.map(imageSummary), null, 2)}\n`);
    return;
  }
  if (opts.format && opts.format !== 'table') {
    // Docker's image list fields for templates (`{{.Repository}}:{{.Tag}}`, `table ...`).
    const view = lines.map((l) => ({
      ID: short(l.row.id),
      Repository: l.repo,
      Tag: l.tag,
      Digest: l.row.digests[0]?.split('@')[1] ?? '<none>',
      CreatedSince: ago(l.row.created),
      CreatedAt: goTime(l.row.created),
      Size: humanSize(l.row.size),
      VirtualSize: humanSize(l.row.size),
      SharedSize: 'N/A',
      UniqueSize: 'N/A',
      Containers: 'N/A',
    }));
    const titles = { ID: 'IMAGE ID', CreatedSince: 'CREATED', VirtualSize: 'SIZE' };
    for (const line of formatRows(opts.format, view, titles)) process.stdout.write(`${line}\n`);
    return;
  }
  const table = [['REPOSITORY', 'TAG', ...(opts.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE']];
  for (const l of lines) {
    const digest = l.row.digests[0]?.split('@')[1] ?? '<none>';
    table.push([
      l.repo,
      l.tag,
      ...(opts.digests ? [digest] : []),
      short(l.row.id),
      ago(l.row.created),
      humanSize(l.row.size),
    ]);
  }
  printTable(table);
}

export async function tagAction(cmd: Command, source: string, target: string): Promise<void> {
  await withEngine(cmd, (engine) => engine.images.tag(source, target));
}

export async function removeAction(cmd: Command, images: string[], opts: { force?: boolean }): Promise<void> {
  let failed = 0;
  // One report per image, so one missing image does not stop the others (as Docker does).
  await withEngine(cmd, async (engine) => {
    for (const ref of images) {
      try {
        const reports = await engine.images.remove(ref, { force: opts.force });
        for (const r of reports)
          process.stdout.write('Untagged' in r ? `Untagged: ${r.Untagged}\n` : `Deleted: ${r.Deleted}\n`);
      } catch (e) {
        failed++;
        process.stderr.write(`Error response from daemon: ${(e as Error).message}\n`);
        if (!isNotFound(e)) continue;
      }
    }
  });
  if (failed) process.exitCode = 1;
}

export async function inspectAction(
  cmd: Command,
  images: string[],
  opts: { format?: string },
): Promise<void> {
  const out: Record<string, unknown>[] = [];
  let failed = false;
  await withEngine(cmd, async (engine) => {
    for (const ref of images) {
      try {
        out.push(await engine.images.inspect(ref));
      } catch (e) {
        failed = true;
        process.stderr.write(`Error: ${(e as Error).message}\n`);
      }
    }
  });
  if (opts.format && opts.format !== 'json') {
    const { renderTemplate } = await import('./go-template.js');
    for (const o of out) process.stdout.write(`${renderTemplate(opts.format, o)}\n`);
  } else {
    process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
  }
  if (failed) process.exitCode = 1;
}

export async function pruneAction(cmd: Command, opts: { all?: boolean }): Promise<void> {
  const { reports, spaceReclaimed } = await withEngine(cmd, (engine) =>
    engine.images.prune({ all: opts.all }),
  );
  if (reports.length) {
    process.stdout.write('Deleted Images:\n');
    for (const r of reports)
      process.stdout.write('Untagged' in r ? `untagged: ${r.Untagged}\n` : `deleted: ${r.Deleted}\n`);
    process.stdout.write('\n');
  }
  process.stdout.write(`Total reclaimed space: ${humanSize(spaceReclaimed, 4)}\n`);
}

export async function saveAction(
  cmd: Command,
  images: string[],
  opts: { output?: string; format: string },
): Promise<void> {
  if (!opts.output && process.stdout.isTTY) {
    throw new Error('Cowardly refusing to save to a terminal. Use the -o flag or redirect');
  }
  const out = opts.output ? createWriteStream(opts.output) : process.stdout;
  await withEngine(cmd, (engine) => engine.images.save(images, opts.format, out));
}

export async function loadAction(cmd: Command, opts: { input?: string; quiet?: boolean }): Promise<void> {
  const input = opts.input ? await openInput(opts.input, 'load') : process.stdin;
  const loaded = await withEngine(cmd, (engine) => engine.images.load(input));
  for (const l of loaded)
    process.stdout.write(l.name ? `Loaded image: ${familiarName(l.name)}\n` : `Loaded image ID: ${l.id}\n`);
}

/** `docker history`: IMAGE, CREATED, CREATED BY (45 characters unless --no-trunc), SIZE, COMMENT. */
export async function historyAction(
  cmd: Command,
  ref: string,
  opts: { trunc: boolean; quiet?: boolean; format?: string },
): Promise<void> {
  const rows = await withEngine(cmd, (engine) => engine.images.history(ref));
  const id = (r: HistoryRow) => (r.Id === '<missing>' || !opts.trunc ? r.Id : r.Id.slice(7, 19));
  if (opts.quiet) {
    for (const r of rows) process.stdout.write(`${id(r)}\n`);
    return;
  }
  if (opts.format === 'json') {
    for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const view = rows.map((r) => {
    const by = r.CreatedBy.replaceAll('\t', ' ');
    return {
      ID: id(r),
      CreatedSince: `${humanDuration(Date.now() - r.Created * 1000)} ago`,
      CreatedAt: new Date(r.Created * 1000).toISOString(),
      CreatedBy: opts.trunc && [...by].length > 45 ? `${[...by].slice(0, 44).join('')}…` : by,
      Size: humanSize(r.Size),
      Comment: r.Comment,
    };
  });
  if (opts.format) {
    for (const line of formatRows(opts.format, view, {
      ID: 'IMAGE',
      CreatedSince: 'CREATED',
      CreatedBy: 'CREATED BY',
    }))
      process.stdout.write(`${line}\n`);
    return;
  }
  printTable([
    ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
    ...view.map((v) => [v.ID, v.CreatedSince, v.CreatedBy, v.Size, v.Comment]),
  ]);
}
