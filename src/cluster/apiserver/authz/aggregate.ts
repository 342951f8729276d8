/**
 * ClusterRole aggregation (upstream's clusterrole-aggregation controller, run in the API
 * server): a ClusterRole with an `aggregationRule` gets as its rules the rules of every
 * ClusterRole its selectors match, recomputed whenever a ClusterRole changes. So a CRD's
 * author labels a role `rbac.authorization.k8s.io/aggregate-to-edit: "true"` and everyone
 * with `edit` may use the new kind.
 */

import { isNotFound } from '../../../core/errors.js';
import { logger } from '../../../core/log.js';
import type { ResourceInfo } from '../../api/resources.js';
import { type KubeObject, selectorMatcher } from '../../api/selectors.js';
import type { RestStorage } from '../rest.js';
import type { RbacPolicy } from './rbac.js';
import type { PolicyRule } from './rules.js';

const log = logger('apiserver');

type Selector = Parameters<typeof selectorMatcher>[0];

/** The rules an aggregated role should have, given every ClusterRole; undefined if it aggregates nothing. */
export function aggregatedRules(role: KubeObject, all: KubeObject[]): PolicyRule[] | undefined {
  const selectors = ((role as { aggregationRule?: { clusterRoleSelectors?: Selector[] } }).aggregationRule
    ?.clusterRoleSelectors ?? []) as Selector[];
  if (!selectors.length) return undefined;
  const matchers = selectors.map((s) => selectorMatcher(s));
  const seen = new Set<string>();
  const rules: PolicyRule[] = [];
  const sources = all
    .filter((o) => o.metadata?.name !== role.metadata?.name)
    .filter((o) => matchers.some((m) => m(o.metadata?.labels)))
    .sort((a, b) => String(a.metadata?.name).localeCompare(String(b.metadata?.name)));
  for (const src of sources)
    for (const r of (src as { rules?: PolicyRule[] }).rules ?? []) {
      const key = JSON.stringify(r);
      if (seen.has(key)) continue;
      seen.add(key);
      rules.push(r);
    }
  return rules;
}

/** Keeps aggregated ClusterRoles filled until stopped; passes never overlap. */
export function startAggregation(
  policy: RbacPolicy,
  rest: RestStorage,
  clusterRoles: ResourceInfo,
): { stop(): void } {
  let running = false;
  let again = false;
  let stopped = false;
  const pass = async () => {
    const all = policy.allClusterRoles();
    for (const role of all) {
      const want = aggregatedRules(role, all);
      if (!want || JSON.stringify(want) === JSON.stringify((role as { rules?: unknown }).rules ?? []))
        continue;
      try {
        await rest.patch(clusterRoles, undefined, role.metadata?.name ?? '', 'merge', { rules: want }, {});
      } catch (e) {
        // A role deleted meanwhile needs no rules; anything else is retried on the next change.
        if (!isNotFound(e))
          log.warn('could not aggregate ClusterRole', { name: role.metadata?.name, err: e });
      }
    }
  };
  const run = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    void pass()
      .catch((e) => log.error('ClusterRole aggregation failed', { err: e }))
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          run();
        }
      });
  };
  policy.onChange((kind) => {
    if (kind === 'ClusterRole') run();
  });
  run();
  return {
    stop() {
      stopped = true;
    },
  };
}
