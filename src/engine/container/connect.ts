/**
 * `network connect` and `network disconnect`: a container's extra networks live in its
 * configuration (so they are joined again at every start), and a running container is
 * attached or detached at once through CNI on its pinned namespace, as Docker does.
 */
import { conflict, invalidArgument, notFound } from '../../core/errors.js';
import { ensureDnsServer } from '../dns/ensure.js';
import { attachNetworks, detachNetworks } from '../network/attach.js';
import { DEFAULT_NETWORK, NetworkStore } from '../network/network-store.js';
import type { EngineContext } from './context.js';
import { getContainer } from './lifecycle.js';
import { withContainerLock } from './lock.js';
import { netnsPathOf, usesCni } from './network.js';

export interface ConnectOptions {
  ip?: string;
  aliases?: string[];
}

export async function connectNetwork(
  ctx: EngineContext,
  network: string,
  ref: string,
  opts: ConnectOptions = {},
): Promise<void> {
  const store = new NetworkStore(ctx.db);
  const net = network === DEFAULT_NETWORK ? store.ensureDefault() : store.find(network);
  if (!net) throw notFound(`network ${network} not found`);
  const found = getContainer(ctx, ref);
  await withContainerLock(ctx, found.id, async () => {
    const rec = getContainer(ctx, found.id);
    const cfg = rec.config;
    if (!usesCni(cfg.network))
      throw invalidArgument(
        `container ${rec.name} cannot be connected to network ${net.name}: it uses the ${cfg.network.startsWith('container:') ? 'network of another container' : `${cfg.network} network mode`}`,
      );
    const extras = cfg.extraNetworks ?? [];
    if (cfg.network === net.name || extras.some((n) => n.name === net.name))
      throw conflict(`endpoint with name ${rec.name} already exists in network ${net.name}`);
    const entry = { name: net.name, aliases: opts.aliases ?? [], ...(opts.ip ? { ip: opts.ip } : {}) };
    if (rec.state === 'running') {
      await attachNetworks(ctx.db, ctx, {
        containerId: rec.id,
        netns: netnsPathOf(ctx, rec.id),
        networks: [{ ...entry, aliases: [rec.name, rec.id.slice(0, 12), ...entry.aliases] }],
      });
      if (net.name !== DEFAULT_NETWORK) await ensureDnsServer(ctx.root, ctx.runroot, ctx.self);
    }
    ctx.containers.setConfig(rec.id, { ...cfg, extraNetworks: [...extras, entry] });
  });
}

export async function disconnectNetwork(
  ctx: EngineContext,
  network: string,
  ref: string,
  force = false,
): Promise<void> {
  const store = new NetworkStore(ctx.db);
  const net = store.find(network);
  if (!net) throw notFound(`network ${network} not found`);
  const found = getContainer(ctx, ref);
  await withContainerLock(ctx, found.id, async () => {
    const rec = getContainer(ctx, found.id);
    const cfg = rec.config;
    const extras = cfg.extraNetworks ?? [];
    const isPrimary = cfg.network === net.name;
    if (!isPrimary && !extras.some((n) => n.name === net.name)) {
      if (force) return;
      throw invalidArgument(`container ${rec.id} is not connected to network ${net.name}`);
    }
    if (rec.state === 'running')
      await detachNetworks(ctx.db, ctx, rec.id, netnsPathOf(ctx, rec.id), net.name);
    // Leaving its first network, a container moves to its next one (or to none).
    const next = isPrimary
      ? extras[0]
        ? {
            ...cfg,
            network: extras[0].name,
            networkAliases: extras[0].aliases,
            ip: extras[0].ip ?? '',
            extraNetworks: extras.slice(1),
          }
        : { ...cfg, network: 'none', ports: [], extraNetworks: [] }
      : { ...cfg, extraNetworks: extras.filter((n) => n.name !== net.name) };
    ctx.containers.setConfig(rec.id, next);
  });
}
