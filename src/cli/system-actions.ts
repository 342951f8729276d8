/** `info`, `system df` and `system prune`: flags in, engine calls, output printed. */
import type { Command } from 'commander';
import { errorMessage } from '../core/errors.js';
import { listContainers, removeContainer } from '../engine/container/lifecycle.js';
import { diskUsage, engineInfo } from '../engine/container/system.js';
import { pruneVolumes } from '../engine/volume/usage.js';
import { contextOf } from './container-actions.js';
import { printTable } from './table.js';

export async function infoAction(flags: { format?: string }, cmd: Command) {
  const info = await engineInfo(contextOf(cmd));
  if (flags.format === 'json' || flags.format === '{{json .}}') {
    process.stdout.write(`${JSON.stringify(info)}\n`);
    return;
  }
  for (const [k, v] of Object.entries(info))
    process.stdout.write(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}\n`);
}

const size = (n: number) =>
  n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)}MB` : `${(n / 1024).toFixed(1)}kB`;

export async function dfAction(_f: unknown, cmd: Command) {
  const du = await diskUsage(contextOf(cmd));
  printTable(
    ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE'],
    du.map((d) => [d.type, String(d.total), String(d.active), size(d.bytes)]),
  );
}

export async function pruneAction(flags: { volumes?: boolean }, cmd: Command) {
  const ctx = contextOf(cmd);
  const removed: string[] = [];
  for (const c of listContainers(ctx)) {
    if (c.state !== 'exited' && c.state !== 'created' && c.state !== 'dead') continue;
    try {
      await removeContainer(ctx, c.id);
      removed.push(c.id);
    } catch (e) {
      process.stderr.write(`Error: ${errorMessage(e)}\n`);
    }
  }
  if (removed.length) process.stdout.write(`Deleted Containers:\n${removed.join('\n')}\n`);
  if (flags.volumes) {
    const v = pruneVolumes(ctx, false);
    if (v.length) process.stdout.write(`Deleted Volumes:\n${v.join('\n')}\n`);
  }
}
