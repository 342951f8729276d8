/**
 * ResourceQuota admission: a write that would take a namespace's usage past any of its
 * quotas' hard limits is refused with Kubernetes' 403; one that fits is charged to every
 * quota that tracks what it uses, before the object is stored, by a compare-and-set on the
 * quota's status.used, so concurrent writes can never both take the last unit. The
 * resource-quota controller later recomputes status.used from the real objects (freeing what
 * deleted or finished objects held, and what a write that failed after its charge took).
 */
import { isConflict } from '../../../core/errors.js';
import { decode, encode } from '../../api/objects.js';
import {
  addUsage,
  formatUsage,
  inQuotaScope,
  parseUsage,
  type podResources,
  type QuotaScopes,
  resourcesFor,
  type Usage,
  usageOf,
} from '../../api/quota-usage.js';
import type { KubeObject } from '../../api/selectors.js';
import { formatQuantity } from '../../scheduler/quantity.js';
import type { Store } from '../../store/store.js';
import { type AdmissionPlugin, type AdmissionRequest, forbidden } from './chain.js';
import { NamespaceLister } from './namespace-lister.js';

type Quota = KubeObject & {
  spec?: { hard?: Record<string, string> };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
};

/** Attempts at charging before giving up on a quota written to by many at once. */
const maxAttempts = 20;

const pretty = (u: Usage, names: string[]) => names.map((k) => `${k}=${formatQuantity(u[k] ?? 0)}`).join(',');

/** Sums the namespace's current usage of what `hard` names, from the store (a quota with no status yet). */
export async function measureUsage(
  store: Store,
  namespace: string,
  hard: Record<string, unknown>,
  scopes: QuotaScopes = {},
): Promise<Usage> {
  const used: Usage = {};
  for (const { group, plural } of resourcesFor(hard)) {
    const items = (await store.list(`/registry/${group || 'core'}/${plural}/${namespace}/`)).items;
    for (const kv of items) {
      const o = decode(kv);
      if (inQuotaScope(scopes, group, plural, o)) addUsage(used, usageOf(group, plural, o));
    }
  }
  return used;
}

/**
 * Compute resources a pod must state when a quota limits them: a quota on `limits.cpu` makes
 * a container without a CPU limit unaccountable, so it is refused (after LimitRange defaults).
 */
function missingResources(o: KubeObject, hard: Record<string, string>): string | undefined {
  const spec = (o.spec ?? {}) as Parameters<typeof podResources>[0];
  const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  const parts: string[] = [];
  for (const name of Object.keys(hard).sort()) {
    const m = /^(requests|limits)\.(cpu|memory)$/.exec(name) ?? /^()(cpu|memory)$/.exec(name);
    if (!m) continue;
    const kind = m[1] === 'limits' ? 'limits' : 'requests';
    const lacking = containers.filter((c) => c.resources?.[kind]?.[m[2] as string] === undefined);
    if (lacking.length) parts.push(`${name} for: ${lacking.map((c) => c.name).join(',')}`);
  }
  return parts.length ? parts.join('; ') : undefined;
}

/** What the write adds: the object's usage, less the old object's on an update. */
function requested(req: AdmissionRequest): Usage {
  const { group, plural } = req.resource;
  const add = usageOf(group, plural, req.object);
  if (req.operation === 'CREATE') return add;
  const old = req.oldObject ? usageOf(group, plural, req.oldObject) : {};
  const out: Usage = {};
  for (const [k, v] of Object.entries(add)) if (v - (old[k] ?? 0) > 0) out[k] = v - (old[k] ?? 0);
  return out;
}

export function resourceQuotaAdmission(store: Store): AdmissionPlugin {
  const quotas = new NamespaceLister(store, '/registry/core/resourcequotas/');
  return {
    name: 'ResourceQuota',
    written: (r) => {
      if (r.kind === 'ResourceQuota' && !r.group) quotas.invalidate();
    },
    async validate(req) {
      if (!req.resource.namespaced || !req.namespace || req.subresource) return;
      // A pod's resources are fixed after create; its status (a finished phase) only frees.
      if (req.operation === 'UPDATE' && req.resource.plural === 'pods' && !req.resource.group) return;
      const namespace = req.namespace;
      const charged = new Set<string>();
      for (let attempt = 0; ; attempt++) {
        // The charge is a compare-and-set, so a quota read from memory that has changed
        // since costs a conflict, never a wrong charge; after one, read the store itself.
        const listed = attempt === 0 ? await quotas.list(namespace) : await quotas.read(namespace);
        if (!listed.length) return;
        const delta = requested(req);
        let conflicted = false;
        for (const { kv, object } of listed) {
          const q = object as Quota;
          const name = q.metadata?.name as string;
          if (charged.has(name)) continue;
          const scopes = (q.spec ?? {}) as QuotaScopes;
          if (!inQuotaScope(scopes, req.resource.group, req.resource.plural, req.object)) continue;
          const hardText = q.spec?.hard ?? {};
          const names = Object.keys(delta)
            .filter((k) => k in hardText && (delta[k] ?? 0) > 0)
            .sort();
          if (req.resource.plural === 'pods' && !req.resource.group) {
            const missing = missingResources(req.object, hardText);
            if (missing) throw forbidden(req, `failed quota: ${name}: must specify ${missing}`);
          }
          if (!names.length) continue;
          const hard = parseUsage(hardText);
          const usedText = q.status?.used ?? {};
          // A quota the controller has not measured yet is measured here, from the objects.
          const used = Object.keys(hardText).every((k) => k in usedText)
            ? parseUsage(usedText)
            : await measureUsage(store, namespace, hardText, scopes);
          const over = names.filter((k) => (used[k] ?? 0) + (delta[k] ?? 0) > (hard[k] ?? 0));
          if (over.length)
            throw forbidden(
              req,
              `exceeded quota: ${name}, requested: ${pretty(delta, over)}, used: ${pretty(used, over)}, limited: ${pretty(hard, over)}`,
            );
          if (req.dryRun) continue;
          const next: Quota = {
            ...q,
            status: { hard: { ...hardText }, used: formatUsage(addUsage({ ...used }, delta), hardText) },
          };
          try {
            await store.update(kv.key, encode(next), kv.modRevision);
            charged.add(name);
          } catch (e) {
            if (!isConflict(e)) throw e;
            conflicted = true;
          } finally {
            quotas.invalidate(namespace);
          }
        }
        if (!conflicted) return;
        if (attempt + 1 >= maxAttempts)
          throw forbidden(
            req,
            'status unknown for quota: too many concurrent writes to charge it, try again',
          );
      }
    },
  };
}
