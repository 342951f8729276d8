/** `/_ping`, `/version`, `/info`, `/system/df` and `/events`. */
import { arch, release } from 'node:os';
import { invalidArgument } from '../../core/errors.js';
import { imageAsGiven } from '../container/config.js';
import { parseSince } from '../container/logs.js';
import { familiarName } from '../image/reference.js';
import type { Api } from './api.js';
import { filters, jsonBody, sendJson } from './http.js';
import type { Router } from './router.js';
import { API_VERSION, MIN_API_VERSION } from './version.js';

/** Headers Docker's clients read from every answer to `/_ping`. */
export const PING_HEADERS = {
  'API-Version': API_VERSION,
  Ostype: 'linux',
  'Docker-Experimental': 'false',
  // The classic builder (`POST /build`): the docker CLI then builds without BuildKit's plugin.
  'Builder-Version': '1',
  'Cache-Control': 'no-cache, no-store, must-revalidate',
  Pragma: 'no-cache',
};

/** `since`/`until` of `/events`: unix seconds (with fractions), or anything `parseSince` reads. */
function eventTime(v: string | null, key: 'since' | 'until'): { since?: number; until?: number } {
  if (!v) return {};
  const ms = /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : parseSince(v);
  if (Number.isNaN(ms)) throw invalidArgument(`Invalid ${key} "${v}": use unix seconds or RFC 3339`);
  return { [key]: ms };
}

const goArch = () => (arch() === 'x64' ? 'amd64' : arch());

/** Adds the system routes to `r`; `version` is Berth's own. */
export function systemRoutes(r: Router, api: Api, version: string): void {
  r.add('GET', '/_ping', async (c) => {
    const res = c.res!;
    res.writeHead(200, { ...PING_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 2 });
    res.end('OK');
  });
  const versionDoc = () => ({
    Platform: { Name: 'Berth' },
    Components: [
      {
        Name: 'Engine',
        Version: version,
        Details: {
          ApiVersion: API_VERSION,
          MinAPIVersion: MIN_API_VERSION,
          Os: 'linux',
          Arch: goArch(),
          KernelVersion: release(),
        },
      },
    ],
    Version: version,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: '',
    GoVersion: process.version,
    Os: 'linux',
    Arch: goArch(),
    KernelVersion: release(),
    BuildTime: '',
  });
  r.add('GET', '/version', async (c) => sendJson(c, 200, versionDoc()));
  r.add('GET', '/events', async (c) => {
    const q = {
      ...eventTime(c.query.get('since'), 'since'),
      ...eventTime(c.query.get('until'), 'until'),
      filters: filters(c),
    };
    const res = c.res!;
    let started = false;
    const begin = () => {
      if (started) return;
      started = true;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
    };
    // A bad filter is refused before the stream starts; the headers go once it is accepted.
    const ready = setImmediate(begin);
    try {
      await api.engine.system.events(
        q,
        (e) => {
          begin();
          // Docker's older fields beside the current ones, as dockerd sends them.
          res.write(
            `${JSON.stringify({ status: e.Action, id: e.Actor.ID, from: e.Actor.Attributes.image, ...e })}\n`,
          );
        },
        c.signal,
      );
    } finally {
      clearImmediate(ready);
    }
    begin();
    res.end();
  });
  // `docker login`: the daemon only checks the credentials; the CLI keeps them.
  r.add('POST', '/auth', async (c) => {
    const body = await jsonBody<{ username?: string; password?: string; serveraddress?: string }>(c);
    const registry = body.serveraddress || 'docker.io';
    if (!body.username || !body.password)
      throw invalidArgument('username and password are required to log in');
    await api.engine.images.login(registry, { username: body.username, password: body.password });
    sendJson(c, 200, { Status: 'Login Succeeded', IdentityToken: '' });
  });
  r.add('GET', '/system/df', async (c) => {
    const { images, containers, volumes } = api.engine;
    const use = await api.engine.system.df();
    const bytes = (type: string) => use.find((u) => u.type === type)?.bytes ?? 0;
    const inUse = new Map<string, number>();
    const mounted = new Map<string, number>();
    const all = containers.list({ all: true });
    for (const rec of all) {
      inUse.set(rec.config.imageId, (inUse.get(rec.config.imageId) ?? 0) + 1);
      for (const m of rec.config.mounts)
        if (m.type === 'volume') mounted.set(m.source, (mounted.get(m.source) ?? 0) + 1);
    }
    sendJson(c, 200, {
      LayersSize: bytes('Images'),
      Images: images.list().map((i) => ({
        Id: i.id,
        ParentId: '',
        RepoTags: i.names.map(familiarName),
        RepoDigests: i.digests,
        Created: Math.floor(Date.parse(i.created) / 1000) || 0,
        Size: i.size,
        SharedSize: -1,
        Labels: {},
        Containers: inUse.get(i.id) ?? 0,
      })),
      // The engine measures containers' writable layers together: the total is on the first.
      Containers: all.map((rec, n) => ({
        Id: rec.id,
        Names: [`/${rec.name}`],
        Image: imageAsGiven(rec.config),
        ImageID: rec.config.imageId,
        State: rec.state,
        SizeRw: n === 0 ? bytes('Containers') : 0,
      })),
      Volumes: volumes.list().map((v) => ({
        ...v,
        UsageData: { Size: volumes.size(v.Name), RefCount: mounted.get(v.Name) ?? 0 },
      })),
      BuildCache: [],
    });
  });
  r.add('GET', '/info', async (c) => {
    const info = await api.engine.system.info();
    sendJson(c, 200, {
      ID: '',
      Images: api.engine.images.list().length,
      OSType: 'linux',
      Architecture: goArch(),
      KernelVersion: release(),
      ServerVersion: version,
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: [] },
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Log: ['k8s-file'] },
      SecurityOptions: ['name=seccomp,profile=builtin'],
      Runtimes: { [String(info.DefaultRuntime)]: { path: info.RuntimePath } },
      Swarm: { LocalNodeState: 'inactive' },
      // What a container made through this API gets without a LogConfig.
      LoggingDriver: 'json-file',
      ...info,
    });
  });
}
