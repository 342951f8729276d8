/**
 * LimitRanger admission: the namespace's LimitRanges fill in containers' missing requests and
 * limits (`defaultRequest`, `default`) when a pod is created, and refuse a pod, container or
 * claim outside their `min`, `max` and `maxLimitRequestRatio`, with upstream's messages.
 */
import { defaultLimitRangeItem, type LimitRangeItem } from '../../api/limit-range.js';
import type { KubeObject } from '../../api/selectors.js';
import { parseQuantity } from '../../scheduler/quantity.js';
import type { Store } from '../../store/store.js';
import { type AdmissionPlugin, forbidden, isCore } from './chain.js';
import { NamespaceLister } from './namespace-lister.js';

type Amounts = Record<string, string>;
type Resources = { requests?: Amounts; limits?: Amounts };
type Container = { name?: string; resources?: Resources };
type PodSpec = { containers?: Container[]; initContainers?: Container[] };

const itemsOf = (lr: KubeObject): LimitRangeItem[] =>
  ((lr.spec as { limits?: LimitRangeItem[] } | undefined)?.limits ?? []).map((i) => {
    const copy = structuredClone(i);
    defaultLimitRangeItem(copy);
    return copy;
  });

/** Sets the item's defaults on containers lacking them; returns what it set, for the annotation. */
function applyContainerDefaults(containers: Container[], item: LimitRangeItem): string[] {
  const notes: string[] = [];
  for (const c of containers) {
    c.resources ??= {};
    const res = c.resources;
    const set = (kind: 'requests' | 'limits', from: Amounts | undefined) => {
      const names: string[] = [];
      for (const [k, v] of Object.entries(from ?? {})) {
        res[kind] ??= {};
        if (res[kind][k] === undefined) {
          res[kind][k] = v;
          names.push(k);
        }
      }
      return names;
    };
    // A limit the container states is its request when it states none (the API's own default).
    const limits = set('limits', item.default);
    const requests = set('requests', { ...(item.defaultRequest ?? {}), ...pick(res.limits, limits, true) });
    if (requests.length) notes.push(`${requests.join(', ')} request for ${label(c)}`);
    if (limits.length) notes.push(`${limits.join(', ')} limit for ${label(c)}`);
  }
  return notes;
}

const label = (c: Container) => `container ${c.name ?? ''}`;
/** Entries of `m` whose keys are (or, with `exclude`, are not) in `keys`. */
const pick = (m: Amounts | undefined, keys: string[], exclude = false): Amounts =>
  Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => keys.includes(k) !== exclude));

/**
 * The violations of one item by one set of requests and limits (a container, a pod's sum, a
 * claim): upstream's first failure of each constraint, in its order.
 */
export function violations(item: LimitRangeItem, kind: string, requests: Amounts, limits: Amounts): string[] {
  const out: string[] = [];
  const q = (v: string | undefined) => (v === undefined ? undefined : parseQuantity(v));
  for (const [k, min] of Object.entries(item.min ?? {})) {
    const req = q(requests[k]);
    const lim = q(limits[k]);
    if (req === undefined) out.push(`minimum ${k} usage per ${kind} is ${min}.  No request is specified`);
    else if (req < parseQuantity(min))
      out.push(`minimum ${k} usage per ${kind} is ${min}, but request is ${requests[k]}`);
    else if (lim !== undefined && lim < parseQuantity(min))
      out.push(`minimum ${k} usage per ${kind} is ${min}, but limit is ${limits[k]}`);
  }
  for (const [k, max] of Object.entries(item.max ?? {})) {
    const req = q(requests[k]);
    // A claim states only a request: its maximum applies to that.
    const lim = kind === 'PersistentVolumeClaim' ? req : q(limits[k]);
    const said = kind === 'PersistentVolumeClaim' ? 'request' : 'limit';
    const limText = kind === 'PersistentVolumeClaim' ? requests[k] : limits[k];
    if (lim === undefined) out.push(`maximum ${k} usage per ${kind} is ${max}.  No ${said} is specified`);
    else if (lim > parseQuantity(max))
      out.push(`maximum ${k} usage per ${kind} is ${max}, but ${said} is ${limText}`);
    else if (req !== undefined && req > parseQuantity(max))
      out.push(`maximum ${k} usage per ${kind} is ${max}, but request is ${requests[k]}`);
  }
  for (const [k, ratio] of Object.entries(item.maxLimitRequestRatio ?? {})) {
    const req = q(requests[k]) ?? 0;
    const lim = q(limits[k]) ?? 0;
    if (req === 0)
      out.push(
        `${k} max limit to request ratio per ${kind} is ${ratio}, but no request is specified or request is 0`,
      );
    else if (lim === 0)
      out.push(
        `${k} max limit to request ratio per ${kind} is ${ratio}, but no limit is specified or limit is 0`,
      );
    else if (lim / req > parseQuantity(ratio))
      out.push(
        `${k} max limit to request ratio per ${kind} is ${ratio}, but provided ratio is ${(lim / req).toFixed(6)}`,
      );
  }
  return out;
}

/** A pod's summed requests and limits, as text quantities for the messages. */
function podSum(spec: PodSpec, kind: 'requests' | 'limits'): Amounts {
  const sum: Record<string, number> = {};
  for (const c of spec.containers ?? [])
    for (const [k, v] of Object.entries(c.resources?.[kind] ?? {})) sum[k] = (sum[k] ?? 0) + parseQuantity(v);
  return Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, String(v)]));
}

export function limitRangerAdmission(store: Store): AdmissionPlugin {
  const ranges = new NamespaceLister(store, '/registry/core/limitranges/');
  const rangesIn = async (ns: string) => (await ranges.list(ns)).map((l) => l.object);
  const applies = (req: Parameters<NonNullable<AdmissionPlugin['admit']>>[0]) =>
    !req.subresource &&
    !!req.namespace &&
    ((isCore(req, 'Pod') && req.operation === 'CREATE') || isCore(req, 'PersistentVolumeClaim'));
  return {
    name: 'LimitRanger',
    written: (r) => {
      if (r.kind === 'LimitRange' && !r.group) ranges.invalidate();
    },
    async admit(req) {
      if (!applies(req) || !isCore(req, 'Pod')) return;
      const spec = (req.object.spec ?? {}) as PodSpec;
      const notes: string[] = [];
      for (const lr of await rangesIn(req.namespace as string))
        for (const item of itemsOf(lr))
          if (item.type === 'Container')
            notes.push(
              ...applyContainerDefaults([...(spec.initContainers ?? []), ...(spec.containers ?? [])], item),
            );
      if (!notes.length) return;
      req.object.metadata ??= {};
      const m = req.object.metadata;
      m.annotations = {
        ...(m.annotations ?? {}),
        'kubernetes.io/limit-ranger': `LimitRanger plugin set: ${notes.join('; ')}`,
      };
    },
    async validate(req) {
      if (!applies(req)) return;
      const errors: string[] = [];
      for (const lr of await rangesIn(req.namespace as string))
        for (const item of itemsOf(lr)) {
          if (isCore(req, 'PersistentVolumeClaim')) {
            if (item.type !== 'PersistentVolumeClaim') continue;
            const res = ((req.object.spec ?? {}) as { resources?: Resources }).resources ?? {};
            errors.push(...violations(item, 'PersistentVolumeClaim', res.requests ?? {}, res.limits ?? {}));
            continue;
          }
          const spec = (req.object.spec ?? {}) as PodSpec;
          if (item.type === 'Container')
            for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])])
              errors.push(
                ...violations(item, 'Container', c.resources?.requests ?? {}, c.resources?.limits ?? {}),
              );
          else if (item.type === 'Pod')
            errors.push(...violations(item, 'Pod', podSum(spec, 'requests'), podSum(spec, 'limits')));
        }
      if (errors.length)
        throw forbidden(req, errors.length > 1 ? `[${errors.join(', ')}]` : (errors[0] as string));
    },
  };
}
