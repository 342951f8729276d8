/**
 * The `/containers` routes that look at or adjust a container in place: top, stats,
 * pause/unpause, rename, update and changes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError, errorMessage, invalidArgument, isAlreadyExists } from '../../core/errors.js';
import { validName } from '../container/names.js';
import type { Engine } from '../engine.js';
import type { Api } from './api.js';
import { type CreateBody, restartPolicy } from './create-body.js';
import { flag, jsonBody, sendJson } from './http.js';
import type { Router } from './router.js';

type Usage = ReturnType<Engine['containers']['usage']>;

/** The part of Docker's stats document that one sample fills (`cpu_stats` or `precpu_stats`). */
function cpuStats(u: Usage | undefined): Record<string, unknown> {
  return {
    cpu_usage: { total_usage: u?.cpuNanos ?? 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
    system_cpu_usage: u?.hostCpuNanos ?? 0,
    online_cpus: u?.onlineCpus ?? 0,
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
}

/** Docker's stats document (what `docker stats` reads) for a sample and the one before it. */
function statsDoc(name: string, now: Usage, before: Usage | undefined, read: Date, preread?: Date) {
  return {
    read: read.toISOString(),
    preread: (preread ?? new Date(0)).toISOString(),
    id: now.id,
    name: `/${name}`,
    pids_stats: { current: now.pids, ...(now.pidsLimit ? { limit: now.pidsLimit } : {}) },
    blkio_stats: {},
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(now),
    precpu_stats: cpuStats(before),
    memory_stats: { usage: now.memoryUsage, limit: now.memoryLimit, stats: {} },
    networks: Object.fromEntries(
      Object.entries(now.networks).map(([name, n]) => [
        name,
        {
          rx_bytes: n.rxBytes,
          rx_packets: n.rxPackets,
          rx_errors: n.rxErrors,
          rx_dropped: n.rxDropped,
          tx_bytes: n.txBytes,
          tx_packets: n.txPackets,
          tx_errors: n.txErrors,
          tx_dropped: n.txDropped,
        },
      ]),
    ),
  };
}

/** The `changes` kinds as the API numbers them. */
const CHANGE_KIND = { C: 0, A: 1, D: 2 } as const;

/** The body of `POST /containers/{id}/update` that Berth applies. */
type UpdateBody = Pick<
  NonNullable<CreateBody['HostConfig']>,
  'Memory' | 'NanoCpus' | 'PidsLimit' | 'RestartPolicy'
>;

/** Adds the routes to `r`. */
export function containerOpRoutes(r: Router, api: Api): void {
  const { containers } = api.engine;

  r.add('GET', '/containers/{id}/top', async (c) => {
    const top = await containers.top(c.params.id!, c.query.get('ps_args') ?? '');
    sendJson(c, 200, { Titles: top.titles, Processes: top.processes });
  });

  r.add('GET', '/containers/{id}/stats', async (c) => {
    const rec = containers.get(c.params.id!);
    // Docker streams unless told otherwise; `one-shot` skips the second sample (no CPU %).
    const stream = c.query.get('stream') === null || flag(c, 'stream');
    const oneShot = !stream && flag(c, 'one-shot');
    const res = c.res!;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    let before: Usage | undefined;
    let beforeAt: Date | undefined;
    if (!oneShot) {
      before = containers.usage(rec.id);
      beforeAt = new Date();
    }
    try {
      for (let first = true; ; first = false) {
        if (!oneShot) await sleep(first && !stream ? 500 : 1000, undefined, { signal: c.signal });
        const now = containers.usage(rec.id);
        const at = new Date();
        res.write(`${JSON.stringify(statsDoc(rec.name, now, before, at, beforeAt))}\n`);
        if (!stream) break;
        before = now;
        beforeAt = at;
      }
    } catch (e) {
      // The client went away: the stream simply ends.
      if (!c.signal.aborted) throw e;
    }
    res.end();
  });

  r.add('POST', '/containers/{id}/pause', async (c) => {
    await containers.pause(c.params.id!);
    sendJson(c, 204);
  });
  r.add('POST', '/containers/{id}/unpause', async (c) => {
    await containers.unpause(c.params.id!);
    sendJson(c, 204);
  });

  r.add('POST', '/containers/{id}/rename', async (c) => {
    const name = c.query.get('name');
    if (!name) throw invalidArgument('name is required: give the new name of the container');
    // dockerd names the step that refused the name, and the name with its slash.
    if (!validName.test(name))
      throw invalidArgument(
        `Error when allocating new name: Invalid container name (/${name.replace(/^\//, '')}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
      );
    try {
      containers.rename(c.params.id!, name);
    } catch (e) {
      // dockerd says which step refused a name that is taken.
      if (isAlreadyExists(e))
        throw new BerthError('AlreadyExists', `Error when allocating new name: ${errorMessage(e)}`, {
          cause: e,
        });
      throw e;
    }
    sendJson(c, 204);
  });

  r.add('POST', '/containers/{id}/update', async (c) => {
    const body = await jsonBody<UpdateBody>(c);
    const restart = restartPolicy(body.RestartPolicy);
    await containers.update(c.params.id!, {
      ...(body.Memory ? { memory: body.Memory } : {}),
      ...(body.NanoCpus ? { nanoCpus: body.NanoCpus } : {}),
      ...(body.PidsLimit ? { pidsLimit: body.PidsLimit } : {}),
      ...(restart ? { restart } : {}),
    });
    sendJson(c, 200, { Warnings: [] });
  });

  r.add('GET', '/containers/{id}/changes', async (c) => {
    const changes = await containers.diff(c.params.id!);
    sendJson(
      c,
      200,
      changes.map((x) => ({ Path: x.path, Kind: CHANGE_KIND[x.kind] })),
    );
  });
}
