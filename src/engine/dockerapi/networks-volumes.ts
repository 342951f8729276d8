/** The `/networks` and `/volumes` routes: list, create, inspect, connect, disconnect, remove, prune. */
import { invalidArgument } from '../../core/errors.js';
import type { Api } from './api.js';
import { filters, flag, jsonBody, sendJson } from './http.js';
import { filterNetworks, filterVolumes, type NetworkDoc } from './list-filters.js';
import { pruneFilters } from './prune-filters.js';
import type { Router } from './router.js';
import { versionAtLeast } from './version.js';

interface NetworkCreateBody {
  Name?: string;
  Driver?: string;
  Internal?: boolean;
  Labels?: Record<string, string> | null;
  IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] | null } | null;
}

/** Adds the network and volume routes to `r`. */
export function networkVolumeRoutes(r: Router, api: Api): void {
  const { networks, volumes, containers } = api.engine;

  r.add('GET', '/networks', async (c) => {
    sendJson(c, 200, filterNetworks(networks.inspectAll() as unknown as NetworkDoc[], filters(c)));
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
    const { match } = pruneFilters(filters(c), ['until', 'label', 'label!']);
    sendJson(c, 200, { NetworksDeleted: await networks.prune(match) });
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
    const inUse = new Set(
      containers
        .list({ all: true })
        .flatMap((rec) => rec.config.mounts.filter((m) => m.type === 'volume').map((m) => m.source)),
    );
    sendJson(c, 200, { Volumes: filterVolumes(volumes.list(), filters(c), inUse), Warnings: [] });
  });
  r.add('POST', '/volumes/create', async (c) => {
    const body = await jsonBody<{ Name?: string; Driver?: string; Labels?: Record<string, string> | null }>(
      c,
    );
    if (body.Driver && body.Driver !== 'local')
      throw invalidArgument(`Unsupported volume driver "${body.Driver}": only local is available`);
    // As dockerd: creating a volume that exists answers with it (scripts create it every time).
    const existing = body.Name ? volumes.list().find((v) => v.Name === body.Name) : undefined;
    sendJson(c, 201, existing ?? volumes.create(body.Name ?? '', { labels: body.Labels ?? {} }));
  });
  r.add('POST', '/volumes/prune', async (c) => {
    const { match, all } = pruneFilters(filters(c), ['label', 'label!', 'all']);
    // Before API 1.42 a prune took every unused volume; since, only anonymous ones without `all`.
    const report = volumes.prune({ all: !!all || !versionAtLeast(c.version, '1.42'), match });
    sendJson(c, 200, { VolumesDeleted: report.deleted, SpaceReclaimed: report.spaceReclaimed });
  });
  r.add('GET', '/volumes/{name}', async (c) => {
    sendJson(c, 200, volumes.inspect(c.params.name!));
  });
  r.add('DELETE', '/volumes/{name}', async (c) => {
    volumes.remove(c.params.name!, { force: flag(c, 'force') });
    sendJson(c, 204);
  });
}
