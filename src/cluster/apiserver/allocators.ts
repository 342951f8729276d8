/**
 * Service address allocation, as the upstream API server does it on create: a ClusterIP from
 * the service CIDR (`--service-cidr`, 10.43.0.0/16 like k3s; its first address is the
 * `kubernetes` Service) and node ports from 30000-32767 for NodePort and LoadBalancer Services.
 * The IP family fields are defaulted and checked as upstream does on a single-stack IPv4
 * cluster: IPv6 and dual-stack requests are refused in its words.
 *
 * Every address a Service holds is a key in the store (`/registry/ranges/serviceips/<ip>`,
 * `/registry/ranges/servicenodeports/<port>`), taken with the store's create, which fails when
 * the key exists: like upstream's IPAddress objects, the store decides who gets a value, so
 * two creates in flight, or two API servers on one etcd, never hand out one value twice. The
 * key names its Service (namespace, name, uid) and when it was taken; it is freed when the
 * Service is deleted or stops holding the value, or when the write it was taken for fails.
 * `repair` (at start-up) takes keys for Services stored before keys existed and frees the keys
 * of Services that are gone.
 */
import { randomInt } from 'node:crypto';
import { isAlreadyExists, isConflict, isNotFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { decode } from '../api/objects.js';
import type { KubeObject } from '../api/selectors.js';
import { invalidError, type StatusCause } from '../api/status.js';
import type { KeyValue, Store } from '../store/store.js';
import { defaultServiceCidr, type ServiceCidr } from './service-cidr.js';

const log = logger('allocator');

const servicePrefix = '/registry/core/services/';
export const nodePortRange = { first: 30000, last: 32767 };

/** One kind of value handed out: where its keys live and what range it is drawn from. */
interface Range {
  prefix: string;
  /**
   * Values handed out when none is asked for are drawn from `first`-`last` while it has room,
   * then from `low`-`last` (an asked-for one may be anywhere `parse` accepts).
   */
  first: number;
  low: number;
  last: number;
  format(n: number): string;
  /** The number of a value, or undefined when it is outside the range. */
  parse(v: string): number | undefined;
}

/**
 * ClusterIPs: every address but the network, the broadcast and the first (the `kubernetes`
 * Service's). As upstream (KEP-3070), addresses drawn at random come from above a low band
 * (1/16 of the range, 16 to 256 addresses) while there is room, leaving the band to addresses
 * asked for by name, such as the cluster DNS's .10.
 */
function ipRangeOf(c: ServiceCidr): Range {
  const last = c.size - 2;
  const band = Math.min(Math.max(16, c.size >> 4), 256);
  return {
    prefix: '/registry/ranges/serviceips/',
    first: band < last ? band : 2,
    low: 2,
    last,
    format: (n) => c.nth(n),
    parse(v) {
      const n = c.offsetOf(v);
      return n !== undefined && n >= 1 && n <= last ? n : undefined;
    },
  };
}

const portRange: Range = {
  prefix: '/registry/ranges/servicenodeports/',
  first: nodePortRange.first,
  low: nodePortRange.first,
  last: nodePortRange.last,
  format: (n) => String(n),
  parse(v) {
    const n = Number(v);
    return Number.isInteger(n) && n >= nodePortRange.first && n <= nodePortRange.last ? n : undefined;
  },
};

/** Who holds a value, stored as the key's value. */
interface Holder {
  namespace: string;
  name: string;
  uid: string;
  /** When it was taken (ISO time): a key younger than the repair grace may belong to a create in flight. */
  at: string;
}

type Obj = Record<string, unknown>;
type ServiceSpec = {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  ports?: Obj[];
  [k: string]: unknown;
};

/** The ClusterIP and node ports a Service holds. */
function heldBy(svc: KubeObject | undefined): { ips: Set<string>; ports: Set<number> } {
  const spec = (svc?.spec ?? {}) as ServiceSpec;
  const ips = new Set<string>();
  const ports = new Set<number>();
  if (spec.type !== 'ExternalName' && spec.clusterIP && spec.clusterIP !== 'None') ips.add(spec.clusterIP);
  for (const p of spec.ports ?? []) if (typeof p.nodePort === 'number') ports.add(p.nodePort);
  return { ips, ports };
}

const withNodePorts = (type: unknown) => type === 'NodePort' || type === 'LoadBalancer';

/**
 * A type change drops the addresses the new type has no use for, when the update left them as
 * they were (upstream's dropTypeDependentFields): the ClusterIP on a change to ExternalName,
 * node ports on a change away from NodePort and LoadBalancer. The update then frees them.
 */
function dropTypeDependent(spec: ServiceSpec, old: ServiceSpec): void {
  if (spec.type === 'ExternalName' && old.type !== 'ExternalName' && spec.clusterIP === old.clusterIP) {
    for (const f of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy']) delete spec[f];
  }
  if (!withNodePorts(spec.type) && withNodePorts(old.type))
    for (const p of spec.ports ?? [])
      if (p.nodePort !== undefined && (old.ports ?? []).some((q) => q.nodePort === p.nodePort))
        delete p.nodePort;
}

const families = ['IPv4', 'IPv6'];
const policies = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
const quoted = (v: unknown) => JSON.stringify(v);
const goStrings = (v: string[]) => `[]string{${v.map(quoted).join(', ')}}`;

/**
 * Defaults `ipFamilyPolicy` and `ipFamilies` and checks them as upstream's allocator does on a
 * cluster with one IPv4 Service range (its initIPFamilyFields): the causes of a refusal, in
 * upstream's words, or none. A Service without a policy keeps the one it had (on update), is
 * RequireDualStack when headless without a selector (such a Service may name both families,
 * since it gets no address), and SingleStack otherwise. PreferDualStack stays single-stack.
 */
export function ipFamilyCauses(spec: ServiceSpec, old: ServiceSpec | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  const invalid = (field: string, value: string, message: string) =>
    causes.push({ field, reason: 'FieldValueInvalid', message: `Invalid value: ${value}: ${message}` });
  const headlessSelectorless =
    spec.clusterIP === 'None' && Object.keys((spec.selector as object | undefined) ?? {}).length === 0;
  spec.ipFamilyPolicy ??= old?.ipFamilyPolicy ?? (headlessSelectorless ? 'RequireDualStack' : 'SingleStack');
  const policy = String(spec.ipFamilyPolicy);
  if (!policies.includes(policy))
    causes.push({
      field: 'spec.ipFamilyPolicy',
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${quoted(policy)}: supported values: ${policies.map(quoted).join(', ')}`,
    });
  const fams = (spec.ipFamilies ?? []) as string[];
  for (const [i, f] of fams.entries())
    if (!families.includes(f))
      causes.push({
        field: `spec.ipFamilies[${i}]`,
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${quoted(f)}: supported values: ${families.map(quoted).join(', ')}`,
      });
  const ips = (spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : []).filter(
    (ip) => ip !== 'None',
  );
  if (policy === 'SingleStack') {
    if (ips.length > 1)
      invalid(
        'spec.ipFamilyPolicy',
        quoted(policy),
        "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified",
      );
    if (fams.length > 1)
      invalid(
        'spec.ipFamilyPolicy',
        quoted(policy),
        "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
      );
  }
  for (const [i, ip] of ips.entries()) {
    if (!ip.includes(':')) continue;
    if (fams[i] === undefined)
      invalid(`spec.clusterIPs[${i}]`, goStrings(ips), 'IPv6 is not configured on this cluster');
    else if (fams[i] === 'IPv4')
      invalid(
        `spec.clusterIPs[${i}]`,
        quoted(ip),
        `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``,
      );
  }
  if (causes.length) return causes;
  if (headlessSelectorless) {
    if (!fams.length) spec.ipFamilies = ['IPv4'];
    if ((spec.ipFamilies as string[]).length < 2 && policy !== 'SingleStack')
      spec.ipFamilies = [...(spec.ipFamilies as string[]), spec.ipFamilies?.[0] === 'IPv6' ? 'IPv4' : 'IPv6'];
    return causes;
  }
  if (policy === 'RequireDualStack')
    invalid('spec.ipFamilyPolicy', quoted(policy), 'this cluster is not configured for dual-stack services');
  for (const [i, f] of fams.entries())
    if (f !== 'IPv4') invalid(`spec.ipFamilies[${i}]`, quoted(f), 'not configured on this cluster');
  if (!fams.length) spec.ipFamilies = ['IPv4'];
  return causes;
}

const holderOf = (svc: KubeObject): Holder => ({
  namespace: svc.metadata?.namespace ?? '',
  name: svc.metadata?.name ?? '',
  uid: String(svc.metadata?.uid ?? ''),
  at: new Date().toISOString(),
});

function parseHolder(kv: KeyValue): Holder | undefined {
  try {
    return JSON.parse(kv.value) as Holder;
  } catch (e) {
    log.warn('unreadable address reservation', { key: kv.key, error: (e as Error).message });
    return undefined;
  }
}

/** What an allocation took; `undo` gives it back when the write it was for failed (it never throws). */
export interface Allocation {
  undo(): Promise<void>;
}

export class ServiceAllocator {
  private readonly ipRange: Range;

  constructor(
    private store: Store,
    private readonly cidr: ServiceCidr = defaultServiceCidr,
  ) {
    this.ipRange = ipRangeOf(cidr);
  }

  /**
   * Fills in and takes the ClusterIP and node ports `svc` needs, beyond those `old` (the stored
   * Service, on update) already holds. Asked-for values already taken are a 422, as upstream
   * answers. Fills spec.clusterIPs, ipFamilies and the traffic policies as upstream defaults them.
   */
  async allocate(svc: KubeObject, old?: KubeObject): Promise<Allocation> {
    const taken: KeyValue[] = [];
    const allocation = { undo: () => this.freeAll(taken) };
    const spec = (svc.spec ?? {}) as ServiceSpec;
    svc.spec = spec;
    if (old) dropTypeDependent(spec, (old.spec ?? {}) as ServiceSpec);
    if (spec.type === 'ExternalName') return allocation;
    const had = heldBy(old);
    const holder = holderOf(svc);
    const name = svc.metadata?.name ?? '';
    const refuse = (cause: StatusCause) => invalidError('', 'Service', name, [cause]);
    // clusterIP is clusterIPs[0] when only the list is given (upstream's normalization).
    if ((spec.clusterIP === undefined || spec.clusterIP === '') && spec.clusterIPs?.[0])
      spec.clusterIP = spec.clusterIPs[0];
    const familyCauses = ipFamilyCauses(spec, old?.spec as ServiceSpec | undefined);
    if (familyCauses.length) throw invalidError('', 'Service', name, familyCauses);
    try {
      if (spec.clusterIP === undefined || spec.clusterIP === '') {
        const kv = await this.takeAny(this.ipRange, holder);
        if (!kv)
          throw refuse({
            field: 'spec.clusterIPs',
            message: 'Internal error: failed to allocate a serviceIP: range is full',
          });
        taken.push(kv);
        spec.clusterIP = kv.key.slice(this.ipRange.prefix.length);
      } else if (spec.clusterIP !== 'None' && !had.ips.has(spec.clusterIP)) {
        const ip = spec.clusterIP;
        const problem =
          this.ipRange.parse(ip) === undefined
            ? `provided IP is not in the valid range. The range of valid IPs is ${this.cidr.cidr}`
            : undefined;
        const kv = problem ? undefined : await this.take(this.ipRange, ip, holder);
        if (!kv)
          throw refuse({
            field: 'spec.clusterIPs',
            reason: 'FieldValueInvalid',
            message: `Invalid value: []string{"${ip}"}: failed to allocate IP ${ip}: ${problem ?? 'provided IP is already allocated'}`,
          });
        taken.push(kv);
      }
      spec.clusterIPs = [spec.clusterIP as string];
      spec.internalTrafficPolicy ??= 'Cluster';
      if (withNodePorts(spec.type)) spec.externalTrafficPolicy ??= 'Cluster';
      await this.takePorts(spec, had.ports, holder, taken, refuse);
    } catch (e) {
      await allocation.undo();
      throw e;
    }
    return allocation;
  }

  /** Node ports: asked-for ones taken as given (one number may serve several protocols), missing ones drawn. */
  private async takePorts(
    spec: ServiceSpec,
    had: Set<number>,
    holder: Holder,
    taken: KeyValue[],
    refuse: (c: StatusCause) => Error,
  ): Promise<void> {
    const ports = spec.ports ?? [];
    const mine = new Set(had);
    for (const [i, p] of ports.entries()) {
      if (typeof p.nodePort !== 'number' || mine.has(p.nodePort)) continue;
      const port = p.nodePort;
      const problem =
        portRange.parse(String(port)) === undefined
          ? `provided port is not in the valid range. The range of valid ports is ${nodePortRange.first}-${nodePortRange.last}`
          : undefined;
      const kv = problem ? undefined : await this.take(portRange, String(port), holder);
      if (!kv)
        throw refuse({
          field: `spec.ports[${i}].nodePort`,
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${port}: ${problem ?? 'provided port is already allocated'}`,
        });
      taken.push(kv);
      mine.add(port);
    }
    if (!withNodePorts(spec.type)) return;
    for (const [i, p] of ports.entries()) {
      if (typeof p.nodePort === 'number') continue;
      const kv = await this.takeAny(portRange, holder);
      if (!kv)
        throw refuse({
          field: `spec.ports[${i}].nodePort`,
          message: 'Internal error: failed to allocate a nodePort: range is full',
        });
      taken.push(kv);
      p.nodePort = Number(kv.key.slice(portRange.prefix.length));
    }
  }

  /**
   * Frees the values `svc` holds that `keep` (its new version, on update) does not. Only keys
   * that name this very Service (its uid) are freed: a value re-used since is someone else's.
   * Called after the Service's write succeeded, so it does not fail that write: a key it could
   * not free is logged and left to `repair`.
   */
  async release(svc: KubeObject, keep?: KubeObject): Promise<void> {
    try {
      await this.releaseNow(svc, keep);
    } catch (e) {
      log.warn('could not free service addresses; repair frees them at the next start', {
        service: `${svc.metadata?.namespace}/${svc.metadata?.name}`,
        error: (e as Error).message,
      });
    }
  }

  private async releaseNow(svc: KubeObject, keep?: KubeObject): Promise<void> {
    const had = heldBy(svc);
    const still = heldBy(keep);
    const uid = String(svc.metadata?.uid ?? '');
    const keys = [
      ...[...had.ips]
        .filter((ip) => !still.ips.has(ip) && this.ipRange.parse(ip) !== undefined)
        .map((ip) => this.ipRange.prefix + ip),
      ...[...had.ports].filter((p) => !still.ports.has(p)).map((p) => portRange.prefix + p),
    ];
    for (const key of keys) {
      const kv = await this.store.get(key);
      if (kv && parseHolder(kv)?.uid === uid) await this.free(kv);
    }
  }

  /**
   * Brings the keys in line with the stored Services: takes the keys of Services stored before
   * keys existed, and frees keys whose Service is gone or no longer holds the value, once they
   * are older than `graceMs` (a younger one may belong to a create still in flight on another
   * API server). Returns what it did.
   */
  async repair(graceMs = 60_000): Promise<{ taken: number; freed: number; doubles: string[] }> {
    const services = new Map<string, KubeObject>();
    for (const kv of (await this.store.list(servicePrefix)).items) {
      const s = decode(kv);
      services.set(`${s.metadata?.namespace}/${s.metadata?.name}`, s);
    }
    const result = { taken: 0, freed: 0, doubles: [] as string[] };
    const keyed = new Set<string>();
    for (const range of [this.ipRange, portRange])
      for (const kv of (await this.store.list(range.prefix)).items) {
        const h = parseHolder(kv);
        const svc = h && services.get(`${h.namespace}/${h.name}`);
        const value = kv.key.slice(range.prefix.length);
        const held = heldBy(svc);
        const holds =
          svc !== undefined &&
          String(svc.metadata?.uid) === h?.uid &&
          (range === this.ipRange ? held.ips.has(value) : held.ports.has(Number(value)));
        if (holds) keyed.add(kv.key);
        else if (!h || Date.now() - Date.parse(h.at) > graceMs) {
          if (await this.free(kv)) result.freed++;
        }
      }
    for (const svc of services.values()) {
      const held = heldBy(svc);
      const wanted: [Range, string][] = [
        ...[...held.ips].map((ip) => [this.ipRange, ip] as [Range, string]),
        ...[...held.ports].map((p) => [portRange, String(p)] as [Range, string]),
      ];
      for (const [range, value] of wanted) {
        if (keyed.has(range.prefix + value) || range.parse(value) === undefined) continue;
        if (await this.take(range, value, holderOf(svc))) result.taken++;
        else
          result.doubles.push(
            `${range === this.ipRange ? 'ClusterIP' : 'node port'} ${value} of Service ${svc.metadata?.namespace}/${svc.metadata?.name}`,
          );
      }
    }
    if (result.taken || result.freed || result.doubles.length) log.info('service addresses repaired', result);
    return result;
  }

  /** Takes one value; undefined when it is already taken. */
  private async take(range: Range, value: string, holder: Holder): Promise<KeyValue | undefined> {
    try {
      return await this.store.create(range.prefix + value, JSON.stringify(holder));
    } catch (e) {
      if (isAlreadyExists(e)) return undefined;
      throw e;
    }
  }

  /**
   * Takes some free value. A few random tries in `first`-`last` first (a sparse range answers
   * at once without reading every key); then the taken keys are read and the free values tried
   * in turn from a random start, those of `first`-`last` before those below `first`, each still
   * by create, since another server may take one meanwhile.
   */
  private async takeAny(range: Range, holder: Holder): Promise<KeyValue | undefined> {
    const size = range.last - range.first + 1;
    for (let i = 0; i < 4; i++) {
      const kv = await this.take(range, range.format(range.first + randomInt(size)), holder);
      if (kv) return kv;
    }
    const used = new Set<string>();
    for (const kv of (await this.store.list(range.prefix)).items) used.add(kv.key.slice(range.prefix.length));
    for (const [from, count] of [
      [range.first, size],
      [range.low, range.first - range.low],
    ] as const) {
      const start = count > 0 ? randomInt(count) : 0;
      for (let i = 0; i < count; i++) {
        const value = range.format(from + ((start + i) % count));
        if (used.has(value)) continue;
        const kv = await this.take(range, value, holder);
        if (kv) return kv;
      }
    }
    return undefined;
  }

  /** Frees one key as read; false when it changed or went meanwhile (then it is not ours to free). */
  private async free(kv: KeyValue): Promise<boolean> {
    try {
      await this.store.delete(kv.key, kv.modRevision);
      return true;
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return false;
      throw e;
    }
  }

  /**
   * Gives back what a failed write took. It never throws, so the caller reports the write's own
   * error; a key it could not free is logged and left to `repair`.
   */
  private async freeAll(kvs: KeyValue[]): Promise<void> {
    for (const kv of kvs.splice(0))
      try {
        await this.free(kv);
      } catch (e) {
        log.warn('could not free a service address; repair frees it at the next start', {
          key: kv.key,
          error: (e as Error).message,
        });
      }
  }
}
