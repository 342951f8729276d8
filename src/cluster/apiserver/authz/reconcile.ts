/**
 * Start-up reconciliation of the bootstrap policy, as upstream's storage_rbac post-start hook
 * does: missing roles and bindings are created; existing ones gain the rules, labels and
 * subjects the bootstrap copy has and they lack, and keep what an administrator added. One
 * annotated `rbac.authorization.kubernetes.io/autoupdate: "false"` is left alone.
 */

import { isConflict, unlessNotFound } from '../../../core/errors.js';
import type { ResourceInfo, ResourceRegistry } from '../../api/resources.js';
import type { KubeObject } from '../../api/selectors.js';
import type { RestStorage } from '../rest.js';
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from './bootstrap-policy.js';
import { uncovered } from './escalation.js';
import { type PolicyRule, rbacGroup, type Subject } from './rules.js';

type Obj = Record<string, unknown>;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The bootstrap object merged into the stored one; undefined when nothing changes. */
export function reconciled(stored: KubeObject, want: KubeObject): KubeObject | undefined {
  if (stored.metadata?.annotations?.['rbac.authorization.kubernetes.io/autoupdate'] === 'false')
    return undefined;
  const next = structuredClone(stored) as Obj & KubeObject;
  next.metadata = {
    ...next.metadata,
    labels: { ...(want.metadata?.labels ?? {}), ...(stored.metadata?.labels ?? {}) },
    annotations: { ...(want.metadata?.annotations ?? {}), ...(stored.metadata?.annotations ?? {}) },
  };
  const w = want as Obj;
  if (w.aggregationRule) {
    // Aggregated rules are the aggregator's to fill; only the selectors are reconciled.
    const have = ((next.aggregationRule as Obj | undefined)?.clusterRoleSelectors ?? []) as unknown[];
    const add = ((w.aggregationRule as Obj).clusterRoleSelectors as unknown[]).filter(
      (s) => !have.some((h) => same(h, s)),
    );
    next.aggregationRule = { clusterRoleSelectors: [...have, ...add] };
  } else if (w.rules) {
    const have = (next.rules ?? []) as PolicyRule[];
    const missing = (w.rules as PolicyRule[]).filter((r) => uncovered(have, [r]).length > 0);
    next.rules = [...have, ...missing];
  }
  if (w.subjects) {
    const have = (next.subjects ?? []) as Subject[];
    const add = (w.subjects as Subject[]).filter(
      (s) => !have.some((h) => h.kind === s.kind && h.name === s.name),
    );
    next.subjects = [...have, ...add];
  }
  return same(next, stored) ? undefined : next;
}

async function reconcileOne(rest: RestStorage, r: ResourceInfo, want: KubeObject): Promise<void> {
  const name = want.metadata?.name ?? '';
  const stored = await unlessNotFound(rest.get(r, undefined, name));
  if (!stored) {
    await rest.create(r, undefined, structuredClone(want), {});
    return;
  }
  const next = reconciled(stored, want);
  if (next) await rest.update(r, undefined, name, next, {});
}

/** Creates or reconciles every bootstrap ClusterRole and ClusterRoleBinding. */
export async function reconcileBootstrapPolicy(registry: ResourceRegistry, rest: RestStorage): Promise<void> {
  const pairs: [string, KubeObject[]][] = [
    ['clusterroles', bootstrapClusterRoles()],
    ['clusterrolebindings', bootstrapClusterRoleBindings()],
  ];
  for (const [plural, objects] of pairs) {
    const r = registry.get(rbacGroup, 'v1', plural);
    if (!r) continue;
    for (const want of objects)
      for (let attempt = 0; ; attempt++) {
        try {
          await reconcileOne(rest, r, want);
          break;
        } catch (e) {
          // Another server on the same datastore reconciling at the same moment: read again.
          if (!isConflict(e) || attempt >= 4) throw e;
        }
      }
  }
}
