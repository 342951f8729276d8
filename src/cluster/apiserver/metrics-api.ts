/**
 * metrics.k8s.io/v1beta1, served the way metrics-server serves it (NodeMetrics and
 * PodMetrics, get and list, label selectors), from the agents' Summary API
 * (`/stats/summary` on each node's endpoint) read on demand. A node's summary is kept for two
 * seconds, so `kubectl top` and the HorizontalPodAutoscaler controller asking together cost
 * one request per node. As metrics-server does, a pod or node without a CPU rate yet (a
 * first sample) is left out of lists and is NotFound by name.
 */
import { metaTime } from '../api/meta-time.js';
import type { ResourceInfo } from '../api/resources.js';
import { type KubeObject, labelMatcher } from '../api/selectors.js';
import { ApiError } from '../api/status.js';

const GROUP = 'metrics.k8s.io';
const VERSION = 'v1beta1';

/** The two resources, registered beside the built-in ones so discovery lists them. */
export const metricsResources: ResourceInfo[] = [
  {
    group: GROUP,
    version: VERSION,
    kind: 'NodeMetrics',
    plural: 'nodes',
    singular: '',
    namespaced: false,
    verbs: ['get', 'list'],
  },
  {
    group: GROUP,
    version: VERSION,
    kind: 'PodMetrics',
    plural: 'pods',
    singular: '',
    namespaced: true,
    verbs: ['get', 'list'],
  },
];

interface Figures {
  time?: string;
  usageNanoCores?: number;
  workingSetBytes?: number;
}

/** The part of the kubelet's Summary API read here. */
export interface NodeSummary {
  node?: { cpu?: Figures; memory?: Figures };
  pods?: {
    podRef: { name: string; namespace: string; uid: string };
    containers?: { name: string; cpu?: Figures; memory?: Figures }[];
  }[];
}

export interface MetricsSource {
  nodes(): Promise<KubeObject[]>;
  pods(namespace: string | undefined, labelSelector: string | undefined): Promise<KubeObject[]>;
  /** The node's summary from its agent. */
  summary(node: KubeObject): Promise<NodeSummary>;
  now?(): number;
}

/** The window metrics-server reports: its scrape interval. */
const WINDOW = '10s';
const CACHE_MS = 2000;

const cpuQuantity = (nanoCores: number) => `${Math.max(0, Math.round(nanoCores))}n`;
const memoryQuantity = (bytes: number) => `${Math.max(0, Math.floor(bytes / 1024))}Ki`;

function usage(cpu: Figures | undefined, memory: Figures | undefined): Record<string, string> | undefined {
  if (cpu?.usageNanoCores === undefined) return undefined;
  return { cpu: cpuQuantity(cpu.usageNanoCores), memory: memoryQuantity(memory?.workingSetBytes ?? 0) };
}

const meta = (o: KubeObject, now: string) => ({
  name: o.metadata?.name,
  ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
  creationTimestamp: now,
  labels: o.metadata?.labels ?? {},
});

export class MetricsApi {
  private readonly cache = new Map<string, { at: number; summary: Promise<NodeSummary> }>();
  private readonly now: () => number;

  constructor(private readonly source: MetricsSource) {
    this.now = source.now ?? Date.now;
  }

  private summaryOf(node: KubeObject): Promise<NodeSummary> {
    const name = String(node.metadata?.name);
    const hit = this.cache.get(name);
    if (hit && this.now() - hit.at < CACHE_MS) return hit.summary;
    // A node that does not answer has no metrics (metrics-server logs it and goes on).
    const summary = this.source.summary(node).catch((): NodeSummary => ({}));
    this.cache.set(name, { at: this.now(), summary });
    return summary;
  }

  /** GET of `nodes` or `pods` in metrics.k8s.io: one object by name, or a list. */
  async get(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string | undefined,
    q: URLSearchParams,
  ): Promise<object> {
    const selector = q.get('labelSelector') ?? undefined;
    const items =
      r.plural === 'nodes'
        ? await this.nodeMetrics(name, selector)
        : await this.podMetrics(namespace, name, selector);
    if (name) {
      const one = items[0];
      if (!one)
        throw new ApiError(
          404,
          'NotFound',
          `${r.plural === 'nodes' ? 'nodemetrics' : 'podmetrics'}.${GROUP} "${name}" not found`,
        );
      return one;
    }
    return { kind: `${r.kind}List`, apiVersion: `${GROUP}/${VERSION}`, metadata: {}, items };
  }

  private stamp(): string {
    return metaTime(this.now());
  }

  private async nodeMetrics(name: string | undefined, selector: string | undefined): Promise<object[]> {
    const matches = labelMatcher(selector);
    const nodes = (await this.source.nodes()).filter(
      (n) => (!name || n.metadata?.name === name) && matches(n),
    );
    const now = this.stamp();
    const out: object[] = [];
    for (const n of nodes) {
      const s = await this.summaryOf(n);
      const u = usage(s.node?.cpu, s.node?.memory);
      if (!u) continue;
      out.push({
        kind: 'NodeMetrics',
        apiVersion: `${GROUP}/${VERSION}`,
        metadata: meta(n, now),
        timestamp: s.node?.cpu?.time ?? now,
        window: WINDOW,
        usage: u,
      });
    }
    return out;
  }

  private async podMetrics(
    namespace: string | undefined,
    name: string | undefined,
    selector: string | undefined,
  ): Promise<object[]> {
    const pods = (await this.source.pods(namespace, selector)).filter(
      (p) => !name || p.metadata?.name === name,
    );
    const byNode = new Map<string, KubeObject[]>();
    for (const p of pods) {
      const node = (p.spec as { nodeName?: string } | undefined)?.nodeName;
      if (!node || (p.status as { phase?: string } | undefined)?.phase !== 'Running') continue;
      byNode.set(node, [...(byNode.get(node) ?? []), p]);
    }
    const nodes = new Map((await this.source.nodes()).map((n) => [String(n.metadata?.name), n]));
    const now = this.stamp();
    const out: object[] = [];
    for (const [nodeName, list] of byNode) {
      const node = nodes.get(nodeName);
      if (!node) continue;
      const s = await this.summaryOf(node);
      for (const p of list) {
        const stats = s.pods?.find((x) => x.podRef.uid === p.metadata?.uid);
        if (!stats?.containers?.length) continue;
        const containers = stats.containers.map((c) => ({ name: c.name, usage: usage(c.cpu, c.memory) }));
        if (containers.some((c) => !c.usage)) continue;
        out.push({
          kind: 'PodMetrics',
          apiVersion: `${GROUP}/${VERSION}`,
          metadata: meta(p, now),
          timestamp: stats.containers[0]?.cpu?.time ?? now,
          window: WINDOW,
          containers,
        });
      }
    }
    return out;
  }
}
