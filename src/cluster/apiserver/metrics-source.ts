/**
 * Wires metrics.k8s.io into the API server: registers its resources (so discovery lists
 * them and `kubectl top` finds the API) and reads nodes and pods from the store and the
 * figures from each node's agent.
 */
import type { Agent } from 'node:https';
import type { ResourceRegistry } from '../api/resources.js';
import { kubeletJsonClient } from './kubelet-client.js';
import { MetricsApi, metricsResources, type NodeSummary } from './metrics-api.js';
import type { RestStorage } from './rest.js';

export function resourceMetrics(registry: ResourceRegistry, rest: RestStorage, kubelets: Agent): MetricsApi {
  for (const r of metricsResources) registry.add(r);
  const get = kubeletJsonClient(kubelets);
  const core = (plural: string) => {
    const r = registry.get('', 'v1', plural);
    if (!r) throw new Error(`the core resource ${plural} is not registered`);
    return r;
  };
  return new MetricsApi({
    nodes: async () => (await rest.list(core('nodes'), undefined, {})).items,
    pods: async (ns, labelSelector) =>
      (await rest.list(core('pods'), ns, labelSelector ? { labelSelector } : {})).items,
    summary: async (node) => (await get(node, '/stats/summary')) as NodeSummary,
  });
}
