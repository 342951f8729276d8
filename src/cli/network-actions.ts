import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { errorMessage } from '../core/errors.js';
import type { Engine } from '../engine/engine.js';
import type { NetworkRecord } from '../engine/network/network-store.js';
import { withEngine } from './engine.js';
import { formatRows, goTime, labelList } from './format.js';
import { renderTemplate } from './go-template.js';

function labels(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list ?? []) {
    const i = l.indexOf('=');
    out[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  return out;
}

export async function createAction(
  cmd: Command,
  name: string,
  opts: { driver: string; subnet?: string; gateway?: string; internal?: boolean; label?: string[] },
): Promise<void> {
  const n = await withEngine(cmd, (engine) =>
    engine.networks.create({
      name,
      driver: opts.driver,
      subnet: opts.subnet,
      gateway: opts.gateway,
      internal: opts.internal,
      labels: labels(opts.label),
    }),
  );
  process.stdout.write(`${n.id}\n`);
}

export async function listAction(
  cmd: Command,
  opts: { quiet?: boolean; format?: string; trunc: boolean },
): Promise<void> {
  await withEngine(cmd, (engine) => printNetworks(engine, opts));
}

function printNetworks(engine: Engine, opts: { quiet?: boolean; format?: string; trunc: boolean }): void {
  const nets = engine.networks.list();
  const id = (n: NetworkRecord) => (opts.trunc ? n.id.slice(0, 12) : n.id);
  if (opts.quiet) {
    for (const n of nets) process.stdout.write(`${id(n)}\n`);
    return;
  }
  if (opts.format === 'json') {
    process.stdout.write(
      `${JSON.stringify(
        nets.map((n) => engine.networks.inspect(n.id)),
        null,
        2,
      )}\n`,
    );
    return;
  }
  // Docker lists the host and none modes beside the real networks; scripts expect them.
  const modes = ['host', 'none'].map((m) => {
    const mid = createHash('sha256').update(`berth-network-mode-${m}`).digest('hex');
    return [opts.trunc ? mid.slice(0, 12) : mid, m, m === 'none' ? 'null' : 'host', 'local'];
  });
  if (opts.format && opts.format !== 'table') {
    // Docker's network list fields for templates (`{{.Name}}`, `table ...`).
    const view = [
      ...nets.map((n) => ({
        ID: id(n),
        Name: n.name,
        Driver: n.driver as string,
        Scope: 'local',
        IPv6: 'false',
        Internal: String(n.internal),
        Labels: labelList(n.labels),
        CreatedAt: goTime(n.created),
      })),
      ...modes.map(([mid, name, driver]) => ({
        ID: mid!,
        Name: name!,
        Driver: driver!,
        Scope: 'local',
        IPv6: 'false',
        Internal: 'false',
        Labels: '',
        CreatedAt: '',
      })),
    ];
    for (const line of formatRows(opts.format, view, { ID: 'NETWORK ID' })) process.stdout.write(`${line}\n`);
    return;
  }
  const rows = [
    ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'],
    ...nets.map((n) => [id(n), n.name, n.driver, 'local']),
    ...modes,
  ];
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows)
    process.stdout.write(`${r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(w[c]! + 3))).join('')}\n`);
}

export async function inspectAction(cmd: Command, names: string[], opts: { format?: string }): Promise<void> {
  const out: Record<string, unknown>[] = [];
  await withEngine(cmd, (engine) => {
    for (const n of names) {
      try {
        out.push(engine.networks.inspect(n));
      } catch (e) {
        process.stderr.write(`Error: ${errorMessage(e)}\n`);
        process.exitCode = 1;
      }
    }
  });
  if (opts.format) for (const o of out) process.stdout.write(`${renderTemplate(opts.format, o)}\n`);
  else process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
}

export async function removeAction(cmd: Command, names: string[]): Promise<void> {
  await withEngine(cmd, async (engine) => {
    for (const name of names) {
      try {
        await engine.networks.remove(name);
        process.stdout.write(`${name}\n`);
      } catch (e) {
        process.stderr.write(`Error response from daemon: ${errorMessage(e)}\n`);
        process.exitCode = 1;
      }
    }
  });
}

export async function pruneAction(cmd: Command): Promise<void> {
  const removed = await withEngine(cmd, (engine) => engine.networks.prune());
  if (removed.length) process.stdout.write(`Deleted Networks:\n${removed.join('\n')}\n`);
}

export async function connectAction(
  cmd: Command,
  network: string,
  container: string,
  opts: { ip?: string; alias?: string[] },
): Promise<void> {
  await withEngine(cmd, (engine) =>
    engine.networks.connect(network, container, {
      ...(opts.ip ? { ip: opts.ip } : {}),
      aliases: opts.alias ?? [],
    }),
  );
}

export async function disconnectAction(
  cmd: Command,
  network: string,
  container: string,
  opts: { force?: boolean },
): Promise<void> {
  await withEngine(cmd, (engine) => engine.networks.disconnect(network, container, opts.force === true));
}
