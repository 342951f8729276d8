/**
 * A pod's DNS configuration as the kubelet works it out (pkg/kubelet/network/dns): from its
 * dnsPolicy (ClusterFirst, ClusterFirstWithHostNet, Default, None), its dnsConfig and the
 * node's resolv.conf; and the resolv.conf text the runtime writes once per sandbox and every
 * container of the pod mounts.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../../core/atomic-file.js';
import type { MountSpec } from '../../engine/container/config.js';
import type { KubeObject } from '../client/kube-client.js';

/** CRI's DNSConfig: what goes into the pod's resolv.conf. */
export interface PodDnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

/** The node's cluster DNS settings (the kubelet's --cluster-dns, --cluster-domain, --resolv-conf). */
export interface ClusterDnsSettings {
  clusterDns: string;
  clusterDomain: string;
  /** The node's resolv.conf (what Default gives pods). Default /etc/resolv.conf. */
  resolvConf?: string;
}

/** The kubelet's limits (validation.MaxDNSNameservers, MaxDNSSearchPaths, MaxDNSSearchListChars). */
const MAX_SERVERS = 3;
const MAX_SEARCHES = 32;
const MAX_SEARCH_CHARS = 2048;

/** The nameserver, search and options lines of a resolv.conf (`domain` counts as a search). */
export function parseResolvConf(text: string): PodDnsConfig {
  const out: PodDnsConfig = { servers: [], searches: [], options: [] };
  for (const line of text.split('\n')) {
    const [key, ...values] = line
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    if (key === 'nameserver' && values[0]) out.servers.push(values[0]);
    // The last search or domain line wins, as in glibc.
    else if (key === 'search' || key === 'domain') out.searches = values.filter(Boolean);
    else if (key === 'options') out.options.push(...values.filter(Boolean));
  }
  return out;
}

const readNode = (path: string): PodDnsConfig => {
  try {
    return parseResolvConf(readFileSync(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { servers: [], searches: [], options: [] };
    throw e;
  }
};

const unique = (xs: string[]) => [...new Set(xs)];

/** Options merged by name, later ones replacing earlier ones (`ndots:5` then `ndots:2` gives 2). */
function mergeOptions(base: string[], extra: { name?: string; value?: string }[]): string[] {
  const byName = new Map<string, string>();
  for (const o of base) byName.set(o.split(':')[0]!, o);
  for (const o of extra)
    if (o.name) byName.set(o.name, o.value !== undefined ? `${o.name}:${o.value}` : o.name);
  return [...byName.values()];
}

/** Keeps the search list within the resolver's limits, as the kubelet trims it. */
function trimSearches(searches: string[]): string[] {
  const out: string[] = [];
  let chars = 0;
  for (const s of unique(searches)) {
    const next = chars + (out.length ? 1 : 0) + s.length;
    if (out.length >= MAX_SEARCHES || next > MAX_SEARCH_CHARS) break;
    out.push(s);
    chars = next;
  }
  return out;
}

/** The DNS configuration of `pod` on a node with `settings`. */
export function podDnsConfig(pod: KubeObject, settings: ClusterDnsSettings): PodDnsConfig {
  const spec = pod.spec ?? {};
  const policy = (spec.dnsPolicy as string | undefined) ?? 'ClusterFirst';
  const hostNet = !!spec.hostNetwork;
  // A host-network pod asks for the cluster's DNS only with ClusterFirstWithHostNet.
  const cluster = policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !hostNet);
  const node = readNode(settings.resolvConf ?? '/etc/resolv.conf');
  let cfg: PodDnsConfig;
  if (policy === 'None') cfg = { servers: [], searches: [], options: [] };
  else if (cluster) {
    const ns = pod.metadata.namespace ?? 'default';
    const d = settings.clusterDomain;
    cfg = {
      servers: [settings.clusterDns],
      searches: [`${ns}.svc.${d}`, `svc.${d}`, d, ...node.searches],
      options: ['ndots:5'],
    };
  } else cfg = node;
  const extra = (spec.dnsConfig ?? {}) as {
    nameservers?: string[];
    searches?: string[];
    options?: { name?: string; value?: string }[];
  };
  return {
    servers: unique([...cfg.servers, ...(extra.nameservers ?? [])]).slice(0, MAX_SERVERS),
    searches: trimSearches([...cfg.searches, ...(extra.searches ?? [])]),
    options: mergeOptions(cfg.options, extra.options ?? []),
  };
}

/** The resolv.conf text for a pod (search, nameserver and options lines, as the kubelet writes them). */
export function podResolvConf(c: PodDnsConfig): string {
  const lines = [
    ...(c.searches.length ? [`search ${c.searches.join(' ')}`] : []),
    ...c.servers.map((s) => `nameserver ${s}`),
    ...(c.options.length ? [`options ${c.options.join(' ')}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

/** Writes the pod's resolv.conf into its sandbox folder (runtimes keep one file per sandbox). */
export function writePodResolvConf(sandboxDir: string, c: PodDnsConfig): void {
  mkdirSync(sandboxDir, { recursive: true, mode: 0o755 });
  writeFileAtomicSync(join(sandboxDir, 'resolv.conf'), podResolvConf(c), { mode: 0o644, fsync: false });
}

/** The bind of the sandbox's resolv.conf over the container's, when the sandbox has one. */
export function podResolvMounts(sandboxDir: string): MountSpec[] {
  const file = join(sandboxDir, 'resolv.conf');
  return existsSync(file)
    ? [{ type: 'bind', source: file, destination: '/etc/resolv.conf', readOnly: false }]
    : [];
}
