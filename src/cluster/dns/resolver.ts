/**
 * The cluster DNS records (Kubernetes' DNS specification, as CoreDNS's kubernetes plugin
 * serves it), answered from indexed caches at query time:
 * - `svc.ns.svc.DOMAIN`: A/AAAA of a Service's cluster IPs, or of a headless Service's ready
 *   endpoints; a CNAME for an ExternalName Service; SRV for each of its ports.
 * - `host.svc.ns.svc.DOMAIN`: one endpoint of a headless Service, by its hostname (pods with
 *   hostname and subdomain, StatefulSets) or its dashed address.
 * - `_port._proto.svc.ns.svc.DOMAIN`: SRV for a named port (with the targets' addresses).
 * - `1-2-3-4.ns.pod.DOMAIN`: the address in the name (the plugin's `pods insecure`).
 * - PTR under in-addr.arpa for Service IPs and endpoint addresses; other reverse names go upstream.
 * - The zone's SOA with every NXDOMAIN and empty answer; names outside the zone go upstream.
 */
import type dnsPacket from 'dns-packet';
import type { DnsReply, DnsResolver } from '../../engine/dns/transport.js';
import { Rcode } from '../../engine/dns/transport.js';
import type { KubeObject } from '../client/kube-client.js';
import type { ClusterIndex } from './cluster-index.js';

/** CoreDNS's kubernetes plugin default TTL. */
export const CLUSTER_DNS_TTL = 5;

export interface ClusterResolverOptions {
  index: ClusterIndex;
  /** Default cluster.local. */
  domain?: string;
  /** The cluster DNS address, for `ns.dns.DOMAIN`. */
  nsAddress?: string;
  ttl?: number;
  /**
   * Bumped on every change of the index (the agent counts its informers' events): each name's
   * records are worked out once per generation and kept, so asking A and AAAA, or in another
   * spelling, reads the index once. Without it every question reads the index.
   */
  generation?: () => number;
}

/** How many names' records are kept before the memo starts over. */
const MEMO_ENTRIES = 10_000;

type Answer = dnsPacket.Answer;

interface Endpoint {
  ip: string;
  /** Its hostname, or the dashed address. */
  host: string;
  ports: { name: string; port: number; protocol: string }[];
}

const isV4 = (ip: string) =>
  /^\d{1,3}(\.\d{1,3}){3}$/.test(ip) && ip.split('.').every((o) => Number(o) < 256);
const addressRecord = (name: string, ip: string, ttl: number): Answer =>
  isV4(ip) ? { type: 'A', name, ttl, data: ip } : { type: 'AAAA', name, ttl, data: ip };
const dashed = (ip: string) => ip.replace(/[.:]/g, '-');

/** The IPv4 address a reverse name stands for (`4.3.2.1.in-addr.arpa`), if it is one. */
function reverseV4(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(name);
  if (!m) return undefined;
  const ip = [m[4], m[3], m[2], m[1]].join('.');
  return isV4(ip) ? ip : undefined;
}

/** The address in a pod name's first label (`10-42-0-5`, or an IPv6 one with dashes). */
function podAddress(label: string): string | undefined {
  const v4 = label.replace(/-/g, '.');
  if (isV4(v4)) return v4;
  if (/^[0-9a-f-]+$/.test(label) && label.includes('-') && label.split('-').length <= 8 && label.length > 2)
    return label.replace(/-/g, ':');
  return undefined;
}

/** What one name holds: its records of every type, or nothing (NXDOMAIN). */
interface NameRecords {
  records: Answer[];
  additionals?: Answer[];
}

/** The resolver for the cluster zone, over `opts.index`. */
export function clusterResolver(opts: ClusterResolverOptions): DnsResolver {
  const domain = (opts.domain ?? 'cluster.local').toLowerCase().replace(/\.$/, '');
  const ttl = opts.ttl ?? CLUSTER_DNS_TTL;
  const { services, slices } = opts.index;
  const serial = Math.floor(Date.now() / 1000);
  const soa: Answer = {
    type: 'SOA',
    name: domain,
    ttl,
    data: {
      mname: `ns.dns.${domain}`,
      rname: `hostmaster.${domain}`,
      serial,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: ttl,
    },
  };
  const svcName = (s: KubeObject) => `${s.metadata.name}.${s.metadata.namespace}.svc.${domain}`;

  const readyEndpoints = (ns: string, svc: string): Endpoint[] => {
    const seen = new Set<string>();
    const out: Endpoint[] = [];
    for (const slice of slices.byIndex('service', `${ns}/${svc}`)) {
      const ports = ((slice.ports ?? []) as { name?: string; port?: number; protocol?: string }[]).map(
        (p) => ({
          name: p.name ?? '',
          port: p.port ?? 0,
          protocol: (p.protocol ?? 'TCP').toLowerCase(),
        }),
      );
      for (const e of (slice.endpoints ?? []) as {
        addresses?: string[];
        hostname?: string;
        conditions?: { ready?: boolean };
      }[]) {
        // A missing ready condition means ready (EndpointSlice API).
        if (e.conditions?.ready === false) continue;
        for (const ip of e.addresses ?? []) {
          if (seen.has(ip)) continue;
          seen.add(ip);
          out.push({ ip, host: e.hostname || dashed(ip), ports });
        }
      }
    }
    return out;
  };

  const clusterIPs = (s: KubeObject): string[] =>
    ((s.spec?.clusterIPs as string[] | undefined) ?? [s.spec?.clusterIP as string]).filter(
      (ip) => ip && ip !== 'None',
    );

  const servicePorts = (s: KubeObject) =>
    ((s.spec?.ports ?? []) as { name?: string; port: number; protocol?: string }[]).map((p) => ({
      name: p.name ?? '',
      port: p.port,
      protocol: (p.protocol ?? 'TCP').toLowerCase(),
    }));

  /** A Service's own name: addresses (or CNAME) and SRV for its ports. */
  const serviceRecords = (name: string, s: KubeObject): NameRecords => {
    if (s.spec?.type === 'ExternalName')
      return {
        records: [{ type: 'CNAME', name, ttl, data: String(s.spec.externalName ?? '').replace(/\.$/, '') }],
      };
    const ips = clusterIPs(s);
    if (ips.length) {
      const addrs = ips.map((ip) => addressRecord(name, ip, ttl));
      const srv = servicePorts(s).map(
        (p): Answer => ({
          type: 'SRV',
          name,
          ttl,
          data: { priority: 0, weight: 100, port: p.port, target: name },
        }),
      );
      return { records: [...addrs, ...srv], additionals: srv.length ? addrs : [] };
    }
    // Headless: the ready endpoints.
    const eps = readyEndpoints(s.metadata.namespace ?? '', s.metadata.name ?? '');
    const addrs = eps.map((e) => addressRecord(name, e.ip, ttl));
    const srv: Answer[] = [];
    const extra: Answer[] = [];
    for (const e of eps) {
      const target = `${e.host}.${name}`;
      for (const p of e.ports)
        srv.push({
          type: 'SRV',
          name,
          ttl,
          data: { priority: 0, weight: weightOf(eps.length), port: p.port, target },
        });
      if (e.ports.length) extra.push(addressRecord(target, e.ip, ttl));
    }
    return { records: [...addrs, ...srv], additionals: extra };
  };

  /** `_port._proto.svc.ns.svc.DOMAIN`. */
  const portRecords = (name: string, s: KubeObject, port: string, proto: string): NameRecords | undefined => {
    if (s.spec?.type === 'ExternalName') return undefined;
    const ips = clusterIPs(s);
    if (ips.length) {
      const p = servicePorts(s).find((x) => x.name === port && x.protocol === proto);
      if (!p) return undefined;
      const target = svcName(s);
      return {
        records: [{ type: 'SRV', name, ttl, data: { priority: 0, weight: 100, port: p.port, target } }],
        additionals: ips.map((ip) => addressRecord(target, ip, ttl)),
      };
    }
    const eps = readyEndpoints(s.metadata.namespace ?? '', s.metadata.name ?? '').filter((e) =>
      e.ports.some((x) => x.name === port && x.protocol === proto),
    );
    if (!eps.length) return undefined;
    const records: Answer[] = [];
    const additionals: Answer[] = [];
    for (const e of eps) {
      const target = `${e.host}.${svcName(s)}`;
      const p = e.ports.find((x) => x.name === port && x.protocol === proto)!;
      records.push({
        type: 'SRV',
        name,
        ttl,
        data: { priority: 0, weight: weightOf(eps.length), port: p.port, target },
      });
      additionals.push(addressRecord(target, e.ip, ttl));
    }
    return { records, additionals };
  };

  /** Every record a name in the zone holds; undefined when it does not exist. */
  const lookup = (name: string, labels: string[]): NameRecords | undefined => {
    if (labels.length === 0)
      return {
        records: [soa, { type: 'NS', name, ttl, data: `ns.dns.${domain}` }],
      };
    if (labels.join('.') === 'ns.dns' && opts.nsAddress)
      return { records: [addressRecord(name, opts.nsAddress, ttl)] };
    if (labels.join('.') === 'dns-version') return { records: [{ type: 'TXT', name, ttl, data: '1.1.0' }] };
    const kind = labels[labels.length - 1];
    if (kind === 'pod') {
      if (labels.length === 1) return { records: [] };
      if (labels.length === 2) return undefined;
      if (labels.length !== 3) return undefined;
      const ip = podAddress(labels[0]!);
      return ip ? { records: [addressRecord(name, ip, ttl)] } : undefined;
    }
    if (kind !== 'svc') return undefined;
    if (labels.length === 1) return { records: [] };
    const ns = labels[labels.length - 2]!;
    if (labels.length === 2) return services.byIndex('namespace', ns).length ? { records: [] } : undefined;
    const s = services.get(`${ns}/${labels[labels.length - 3]}`);
    if (!s) return undefined;
    if (labels.length === 3) return serviceRecords(name, s);
    if (labels.length === 4) {
      if (clusterIPs(s).length || s.spec?.type === 'ExternalName') return undefined;
      const host = labels[0]!;
      const e = readyEndpoints(ns, s.metadata.name ?? '').find((x) => x.host === host);
      return e ? { records: [addressRecord(name, e.ip, ttl)] } : undefined;
    }
    if (labels.length === 5 && labels[0]!.startsWith('_') && labels[1]!.startsWith('_'))
      return portRecords(name, s, labels[0]!.slice(1), labels[1]!.slice(1));
    return undefined;
  };

  /** PTR for a Service IP or an endpoint address; undefined sends the name upstream. */
  const reverse = (name: string, ip: string): NameRecords | undefined => {
    const records: Answer[] = [];
    for (const s of services.byIndex('clusterIP', ip))
      records.push({ type: 'PTR', name, ttl, data: svcName(s) });
    for (const slice of slices.byIndex('address', ip)) {
      const svc = slice.metadata.labels?.['kubernetes.io/service-name'];
      if (!svc) continue;
      const e = ((slice.endpoints ?? []) as { addresses?: string[]; hostname?: string }[]).find((x) =>
        x.addresses?.includes(ip),
      );
      const data = `${e?.hostname || dashed(ip)}.${svc}.${slice.metadata.namespace}.svc.${domain}`;
      if (!records.some((r) => (r as { data: string }).data === data))
        records.push({ type: 'PTR', name, ttl, data });
    }
    return records.length ? { records } : undefined;
  };

  /** `lookup`'s result for `name`, worked out once per generation. */
  const memo = new Map<string, NameRecords | null>();
  let memoGen = opts.generation?.();
  const recordsOf = (name: string, work: () => NameRecords | undefined): NameRecords | undefined => {
    if (!opts.generation) return work();
    const now = opts.generation();
    if (now !== memoGen) {
      memo.clear();
      memoGen = now;
    }
    let found = memo.get(name);
    if (found === undefined) {
      found = work() ?? null;
      if (memo.size >= MEMO_ENTRIES) memo.clear();
      memo.set(name, found);
    }
    return found ?? undefined;
  };

  const reply = (q: dnsPacket.Question, found: NameRecords | undefined): DnsReply => {
    if (!found) return { rcode: Rcode.NXDOMAIN, answers: [], authorities: [soa] };
    const cname = found.records.filter((r) => r.type === 'CNAME');
    const answers = cname.length
      ? cname
      : q.type === ('ANY' as dnsPacket.RecordType)
        ? found.records
        : found.records.filter((r) => r.type === q.type);
    if (!answers.length) return { rcode: Rcode.NOERROR, answers: [], authorities: [soa] };
    const additionals = answers.some((a) => a.type === 'SRV') ? (found.additionals ?? []) : [];
    // Answers carry the question's spelling of the name (resolvers compare without case anyway).
    const spelled = answers.map((a) => ({ ...a, name: a.name === q.name.toLowerCase() ? q.name : a.name }));
    return { rcode: Rcode.NOERROR, answers: spelled, additionals };
  };

  return {
    resolve(q) {
      const name = q.name.toLowerCase().replace(/\.$/, '');
      if (q.class && q.class !== 'IN' && q.class !== 'ANY') return undefined;
      if (name.endsWith('.in-addr.arpa')) {
        const ip = reverseV4(name);
        const found = ip ? recordsOf(name, () => reverse(name, ip)) : undefined;
        return found ? reply(q, found) : undefined;
      }
      if (name !== domain && !name.endsWith(`.${domain}`)) return undefined;
      const rest = name === domain ? '' : name.slice(0, -(domain.length + 1));
      return reply(
        q,
        recordsOf(name, () => lookup(name, rest ? rest.split('.') : [])),
      );
    },
  };
}

/** SRV weight shared evenly among `n` targets, as the plugin does. */
const weightOf = (n: number) => Math.max(1, Math.floor(100 / n));
