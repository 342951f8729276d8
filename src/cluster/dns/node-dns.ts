/**
 * The cluster DNS on one node, node-local as NodeLocal DNSCache runs it: an interface of
 * Berth's own in the node's network namespace holds the cluster DNS address (10.43.0.10),
 * the listener binds to it, and pods reach it through their default route (the node). The
 * kube-dns Service carries `berth.dev/node-local: "true"`, so the Service proxy leaves its
 * address alone. Answers come from Service and EndpointSlice informers (resolver.ts); other
 * names go to the node's upstream resolvers.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { logger } from '../../core/log.js';
import { type DnsListener, listenDns, type Upstream } from '../../engine/dns/transport.js';
import { parseResolvConf } from '../agent/pod-dns.js';
import { Informer } from '../client/informer.js';
import type { KubeClient } from '../client/kube-client.js';
import { Resources } from '../client/kube-client.js';
import { serviceIndexes, sliceIndexes } from './cluster-index.js';
import { clusterResolver } from './resolver.js';

const log = logger('cluster-dns');
const run = promisify(execFile);

/** The interface that holds the cluster DNS address on every node. */
export const DNS_INTERFACE = 'berth-dns0';

export interface NodeDnsOptions {
  client: KubeClient;
  /** The cluster DNS address (--cluster-dns). */
  address: string;
  /** --cluster-domain. */
  domain: string;
  /** The node's resolv.conf: its nameservers are the upstreams. Default /etc/resolv.conf. */
  resolvConf?: string;
  /** Default 53. */
  port?: number;
}

export interface NodeDns {
  stop(): Promise<void>;
}

/** The node's upstream resolvers: its resolv.conf's nameservers, without the cluster DNS itself. */
export function nodeUpstreams(resolvConf: string, self: string): Upstream[] {
  let text = '';
  try {
    text = readFileSync(resolvConf, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return parseResolvConf(text)
    .servers.filter((s) => s !== self)
    .map((host) => ({ host, port: 53 }));
}

async function ip(args: string[]): Promise<void> {
  await run('ip', args);
}

/**
 * Makes the interface with the address (a dummy device; a bridge with no ports where the
 * kernel lacks the dummy module: both only hold addresses). Idempotent.
 */
export async function ensureDnsInterface(address: string): Promise<void> {
  // `ip link show` fails exactly when there is no such device.
  const exists = await run('ip', ['link', 'show', 'dev', DNS_INTERFACE]).then(
    () => true,
    () => false,
  );
  if (!exists) {
    try {
      await ip(['link', 'add', DNS_INTERFACE, 'type', 'dummy']);
    } catch (e) {
      log.debug('no dummy device here; using a bridge without ports', { err: e as Error });
      await ip(['link', 'add', DNS_INTERFACE, 'type', 'bridge']);
    }
  }
  await ip(['addr', 'replace', `${address}/32`, 'dev', DNS_INTERFACE]);
  await ip(['link', 'set', DNS_INTERFACE, 'up']);
}

/** Removes the interface (`--cleanup`); absent is fine. Says whether there was one. */
export async function removeDnsInterface(): Promise<boolean> {
  try {
    await ip(['link', 'del', DNS_INTERFACE]);
    return true;
  } catch (e) {
    const msg = String((e as { stderr?: string }).stderr ?? e);
    if (/Cannot find device|does not exist/.test(msg)) return false;
    throw e;
  }
}

/** Starts the node's cluster DNS; it answers once the Service and EndpointSlice caches are full. */
export async function startNodeDns(o: NodeDnsOptions): Promise<NodeDns> {
  await ensureDnsInterface(o.address);
  const services = new Informer(o.client, Resources.services);
  const slices = new Informer(o.client, Resources.endpointslices);
  for (const [name, fn] of Object.entries(serviceIndexes)) services.addIndex(name, fn);
  for (const [name, fn] of Object.entries(sliceIndexes)) slices.addIndex(name, fn);
  // Any change may alter answers: cached ones are dropped.
  let generation = 0;
  const changed = () => {
    generation++;
  };
  for (const inf of [services, slices]) inf.onAdd(changed).onUpdate(changed).onDelete(changed);
  services.start();
  slices.start();
  let listener: DnsListener | undefined;
  try {
    await Promise.all([services.hasSynced(), slices.hasSynced()]);
    const resolvConf = o.resolvConf ?? '/etc/resolv.conf';
    listener = await listenDns({
      address: o.address,
      port: o.port ?? 53,
      resolver: clusterResolver({
        index: { services, slices },
        domain: o.domain,
        nsAddress: o.address,
        generation: () => generation,
      }),
      upstreams: () => nodeUpstreams(resolvConf, o.address),
      generation: () => generation,
    });
  } catch (e) {
    services.stop();
    slices.stop();
    throw e;
  }
  log.info('cluster DNS serving', { address: o.address, domain: o.domain });
  return {
    async stop() {
      services.stop();
      slices.stop();
      await listener?.close();
    },
  };
}
