/**
 * The `/containers` routes that answer at once: create, start, stop, kill, restart, remove,
 * list, inspect, prune, resize. The streaming ones (attach, wait, logs) are in
 * container-streams.ts.
 */
import { BerthError, conflict, errorMessage, invalidArgument, isNotFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { imageAsGiven } from '../container/config.js';
import type { ContainerRecord } from '../container/store.js';
import type { PsRow } from '../container/views.js';
import type { Api } from './api.js';
import { type CreateBody, createOptionsFromBody } from './create-body.js';
import { filterStrings, filters, flag, jsonBody, sendJson } from './http.js';
import { pruneFilters } from './prune-filters.js';
import type { Call, Router } from './router.js';

const log = logger('dockerapi');

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000) || 0;

/**
 * The command as dockerd lists it: the path, then each argument, those holding a space in
 * single quotes (`sh -c 'sleep 100'`).
 */
export function listedCommand(args: readonly string[]): string {
  const [path = '', ...rest] = args;
  return [path, ...rest.map((a) => (a.includes(' ') ? `'${a}'` : a))].join(' ');
}

/** One container as `GET /containers/json` lists it. */
function summary(r: ContainerRecord, row: PsRow): Record<string, unknown> {
  return {
    Id: r.id,
    Names: [`/${r.name}`],
    Image: imageAsGiven(r.config),
    ImageID: r.config.imageId,
    Command: listedCommand([...r.config.entrypoint, ...r.config.cmd]),
    Created: seconds(r.createdAt),
    Ports: r.config.ports.map((p) => ({
      ...(p.hostPort ? { IP: p.hostIP || '0.0.0.0', PublicPort: p.hostPort } : {}),
      PrivatePort: p.containerPort,
      Type: p.protocol,
    })),
    Labels: r.config.labels,
    State: r.state,
    Status: row.Status,
    HostConfig: { NetworkMode: r.config.network },
    NetworkSettings: { Networks: { [r.config.network]: {} } },
    Mounts: r.config.mounts.map((m) => ({
      Type: m.type,
      Name: m.type === 'volume' ? m.source : undefined,
      Source: m.source,
      Destination: m.destination,
      // The CLI counts the mounts with a driver as `LocalVolumes`.
      Driver: m.type === 'volume' ? 'local' : '',
      Mode: m.type === 'volume' ? 'z' : '',
      RW: !m.readOnly,
      Propagation: m.type === 'bind' ? (m.propagation ?? 'rprivate') : '',
    })),
  };
}

/**
 * The exit status of the run that just started; undefined when it cannot be known (the
 * container went with its status, or the watch failed: logged, since nobody may be waiting).
 * An `AutoRemove` container is cleaned up here at once, as `berth run --rm` does, instead of
 * waiting for conmon's exit command to start a process for it; whichever comes second finds
 * nothing left to do.
 */
async function watchExit(api: Api, id: string, autoRemove: boolean): Promise<number | undefined> {
  try {
    const code = await api.engine.containers.wait(id);
    // A read records the exit (and journals `die`) now rather than when conmon's exit command runs.
    if (autoRemove) await api.engine.containers.cleanup(id);
    else api.engine.containers.get(id);
    return code;
  } catch (e) {
    if (!isNotFound(e)) log.warn('cannot follow the container to its exit', { id, err: e as Error });
    return undefined;
  }
}

/**
 * A start that failed ends the run it was for, as in dockerd: an `AutoRemove` container is
 * removed, and the requests `docker run` parked for that run go (a `wait` answers the status
 * the failure maps to; the CLI waits for `--rm`'s removal before it exits). Rethrows `e`.
 */
async function failedStart(api: Api, rec: ContainerRecord, e: unknown): Promise<never> {
  if (rec.config.autoRemove)
    await api.engine.containers.rm(rec.id, { force: true, volumes: true }).catch((err: unknown) => {
      if (!isNotFound(err))
        log.warn('cannot remove a container that failed to start', { id: rec.id, err: err as Error });
    });
  const code = (e as { exitCode?: unknown }).exitCode;
  api.sessions.started(rec.id, Promise.resolve(typeof code === 'number' ? code : 125));
  // The runtime's own words in dockerd's frame; the CLI picks its exit status (127, 126) from them.
  const runtimeMessage = e instanceof BerthError ? e.details?.runtimeMessage : undefined;
  if (typeof runtimeMessage === 'string' && e instanceof BerthError)
    throw new BerthError(
      e.code,
      `failed to create shim task: OCI runtime create failed: ${runtimeMessage}: unknown`,
      { cause: e },
    );
  throw e;
}

/** Seconds from `?t=` (Docker) or `?timeout=` (newer clients); undefined when absent. */
function timeout(c: Call): number | undefined {
  const v = c.query.get('t') ?? c.query.get('timeout');
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n))
    throw invalidArgument(`Invalid timeout "${v}": it must be a whole number of seconds`);
  return n;
}

/** Adds the container routes to `r`. */
export function containerRoutes(r: Router, api: Api): void {
  const { engine, sessions } = api;
  r.add('POST', '/containers/create', async (c) => {
    const body = await jsonBody<CreateBody>(c);
    if (!body.Image)
      throw invalidArgument('Config.Image is required: name the image to create the container from');
    const name = c.query.get('name') ?? undefined;
    const rec = await engine.containers
      .create({ image: body.Image, pull: 'never' }, createOptionsFromBody(body, name))
      .catch((e: unknown) => {
        // The docker CLI pulls the image on any 404 from create: only a missing image may be one
        // (a missing network is not a reason to reach a registry).
        if (isNotFound(e) && !errorMessage(e).startsWith('No such image'))
          throw invalidArgument(errorMessage(e));
        throw e;
      });
    sendJson(c, 201, { Id: rec.id, Warnings: [] });
  });
  r.add('GET', '/containers/json', async (c) => {
    const limit = Number(c.query.get('limit') ?? -1);
    // As dockerd: the newest N (`ps -n`, `ps -l`) are taken from every container, running or not.
    const o = { all: flag(c, 'all') || limit > 0, filters: filterStrings(filters(c)) };
    const recs = engine.containers.list(o);
    const rows = engine.containers.ps({ ...o, trunc: false });
    const byId = new Map(rows.map((x) => [x.ID, x]));
    // Newest first, as Docker lists them (by the full creation time: `ps -l` and `-n` pick
    // among containers made in the same second).
    const newest = recs.filter((x) => byId.has(x.id)).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    // size=1 (`ps -s`): each container's own layer, and that plus its image.
    const withSize = flag(c, 'size');
    const out = (limit > 0 ? newest.slice(0, limit) : newest).map((x) => {
      const doc = summary(x, byId.get(x.id)!);
      if (!withSize) return doc;
      const s = engine.containers.sizes(x.id);
      return { ...doc, SizeRw: s.rw, SizeRootFs: s.rootFs };
    });
    sendJson(c, 200, out);
  });
  r.add('GET', '/containers/{id}/json', async (c) => {
    const doc = engine.containers.inspect(c.params.id!);
    if (!flag(c, 'size')) return sendJson(c, 200, doc);
    const s = engine.containers.sizes(c.params.id!);
    sendJson(c, 200, { ...doc, SizeRw: s.rw, SizeRootFs: s.rootFs });
  });
  r.add('POST', '/containers/{id}/start', async (c) => {
    const rec = engine.containers.get(c.params.id!);
    if (rec.state === 'running') return sendJson(c, 304);
    // Refused before the start: a failed start would end the run (and remove an --rm container).
    if (rec.state === 'paused') throw conflict('cannot start a paused container, try unpause instead');
    const started = await engine.containers.start(rec.id).catch((e: unknown) => failedStart(api, rec, e));
    // Watch this run's exit before answering: a container that exits and is removed at once
    // (`--rm`) still reports its status to the `wait` that `docker run` sent.
    sessions.started(started.id, watchExit(api, started.id, started.config.autoRemove));
    sendJson(c, 204);
  });
  r.add('POST', '/containers/{id}/stop', async (c) => {
    const rec = engine.containers.get(c.params.id!);
    // A paused container is stopped too, and a restarting one loses its pending restart.
    if (!['running', 'paused', 'restarting'].includes(rec.state)) return sendJson(c, 304);
    await engine.containers.stop(rec.id, timeout(c));
    sendJson(c, 204);
  });
  r.add('POST', '/containers/{id}/kill', async (c) => {
    await engine.containers.kill(c.params.id!, c.query.get('signal') || undefined);
    sendJson(c, 204);
  });
  r.add('POST', '/containers/{id}/restart', async (c) => {
    const started = await engine.containers.restart(c.params.id!, timeout(c));
    sessions.started(started.id, watchExit(api, started.id, started.config.autoRemove));
    sendJson(c, 204);
  });
  r.add('DELETE', '/containers/{id}', async (c) => {
    await engine.containers.rm(c.params.id!, { force: flag(c, 'force'), volumes: flag(c, 'v') });
    sendJson(c, 204);
  });
  r.add('POST', '/containers/prune', async (c) => {
    const { match } = pruneFilters(filters(c), ['until', 'label', 'label!']);
    const report = await engine.containers.prune(match);
    sendJson(c, 200, { ContainersDeleted: report.deleted, SpaceReclaimed: 0 });
  });
  r.add('POST', '/containers/{id}/resize', async (c) => {
    const rec = engine.containers.get(c.params.id!);
    sessions.resize(rec.id, { rows: Number(c.query.get('h') ?? 0), columns: Number(c.query.get('w') ?? 0) });
    sendJson(c, 200);
  });
}
