/** The `/networks` and `/volumes` routes: list, create, inspect, connect, disconnect, remove, prune. */
import { invalidArgument } from '../../core/errors.js';
import type { Api } from './api.js';
import { filters, flag, jsonBody, sendJson } from './http.js';
import type { Router } from './router.js';

interface NetworkCreateBody {
  Name?: string;
  Driver?: string;
  Internal?: boolean;
  Labels?: Record<string, string> | null;
  IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] | null } | null;
}

/** Keeps the documents whose `Name` (or `Id` prefix) one of `names` is, when a name filter is given. */
function byName<T extends { Name?: unknown; Id?: unknown }>(docs: T[], names: string[] | undefined): T[] {
  if (!names?.length) return docs;
  return docs.filter((d) =>
    names.some((n) => String(d.Name).includes(n) || String(d.Id ?? '').startsWith(n)),
  );
}

/** Adds the network and volume routes to `r`. */
export function networkVolumeRoutes(r: Router, api: Api): void {
  const { networks, volumes } = api.engine;

  r.add('GET', '/networks', async (c) => {
    const docs = networks.list().map((n) => networks.inspect(n.name) as { Name: string; Id: string });
    sendJson(c, 200, byName(docs, filters(c).name));
  });
  r.add('POST', '/networks/create', async (c) => {
    const body = await jsonBody<NetworkCreateBody>(c);
    if (!body.Name) throw invalidArgument('Name is required: name the network');
    const ipam = body.IPAM?.Config?.[0];
    const n = networks.create({
      name: body.Name,
      ...(body.Driver ? { driver: body.Driver } : {}),
      ...(ipam?.Subnet ? { subnet: ipam.Subnet } : {}),
      ...(ipam?.Gateway ? { gateway: ipam.Gateway } : {}),
      internal: !!body.Internal,
      labels: body.Labels ?? {},
    });
    sendJson(c, 201, { Id: n.id, Warning: '' });
  });
  r.add('POST', '/networks/prune', async (c) => {
    sendJson(c, 200, { NetworksDeleted: await networks.prune() });
  });
  r.add('GET', '/networks/{id}', async (c) => {
    sendJson(c, 200, networks.inspect(c.params.id!));
  });
  r.add('POST', '/networks/{id}/connect', async (c) => {
    const body = await jsonBody<{
      Container?: string;
      EndpointConfig?: { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string } | null } | null;
    }>(c);
    if (!body.Container) throw invalidArgument('Container is required: name the container to connect');
    const ep = body.EndpointConfig;
    await networks.connect(c.params.id!, body.Container, {
      ...(ep?.IPAMConfig?.IPv4Address ? { ip: ep.IPAMConfig.IPv4Address } : {}),
      ...(ep?.Aliases?.length ? { aliases: ep.Aliases } : {}),
    });
    sendJson(c, 200);
  });
  r.add('POST', '/networks/{id}/disconnect', async (c) => {
    const body = await jsonBody<{ Container?: string; Force?: boolean }>(c);
    if (!body.Container) throw invalidArgument('Container is required: name the container to disconnect');
    await networks.disconnect(c.params.id!, body.Container, !!body.Force);
    sendJson(c, 200);
  });
  r.add('DELETE', '/networks/{id}', async (c) => {
    await networks.remove(c.params.id!);
    sendJson(c, 204);
  });

  r.add('GET', '/volumes', async (c) => {
    sendJson(c, 200, { Volumes: byName(volumes.list(), filters(c).name), Warnings: [] });
  });
  r.add('POST', '/volumes/create', async (c) => {
    const body = await jsonBody<{ Name?: string; Driver?: string; Labels?: Record<string, string> | null }>(
      c,
    );
    if (body.Driver && body.Driver !== 'local')
      throw invalidArgument(`Unsupported volume driver "${body.Driver}": only local is available`);
    sendJson(c, 201, volumes.create(body.Name ?? '', { labels: body.Labels ?? {} }));
  });
  r.add('POST', '/volumes/prune', async (c) => {
    sendJson(c, 200, {
      VolumesDeleted: volumes.prune({ all: filters(c).all?.[0] === 'true' }),
      SpaceReclaimed: 0,
    });
  });
  r.add('GET', '/volumes/{name}', async (c) => {
    sendJson(c, 200, volumes.inspect(c.params.name!));
  });
  r.add('DELETE', '/volumes/{name}', async (c) => {
    volumes.remove(c.params.name!, { force: flag(c, 'force') });
    sendJson(c, 204);
  });
}
