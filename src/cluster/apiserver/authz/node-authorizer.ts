/**
 * Upstream's Node authorizer, for the objects the node role may read: a node's identity
 * (`system:node:NAME` in `system:nodes`) may get a Secret, ConfigMap, PersistentVolumeClaim or
 * PersistentVolume, and create a token for a ServiceAccount, only when a pod bound to that
 * node needs it. Anything else about those objects is refused, whatever the system:node
 * role says; other requests are left to RBAC.
 */
import { decode } from '../../api/objects.js';
import type { KubeObject } from '../../api/selectors.js';
import type { Store } from '../../store/store.js';
import type { Attributes, Authorizer, AuthorizerResult } from './attributes.js';
import type { NodeGraph } from './node-graph.js';
import { feedFromPrefix } from './store-feed.js';

const NODE_PREFIX = 'system:node:';
const guarded: Record<string, { subresource: string; verb: string }> = {
  secrets: { subresource: '', verb: 'get' },
  configmaps: { subresource: '', verb: 'get' },
  persistentvolumeclaims: { subresource: '', verb: 'get' },
  persistentvolumes: { subresource: '', verb: 'get' },
  serviceaccounts: { subresource: 'token', verb: 'create' },
};

const noOpinion: AuthorizerResult = { decision: 'noOpinion', reason: '' };

/** The node a request comes from, if it comes from one. */
function nodeOf(a: Attributes): string | undefined {
  if (!a.user.name.startsWith(NODE_PREFIX) || !a.user.groups.includes('system:nodes')) return undefined;
  return a.user.name.slice(NODE_PREFIX.length) || undefined;
}

export function nodeAuthorizer(graph: NodeGraph): Authorizer {
  return {
    authorize(a) {
      const node = nodeOf(a);
      const g = guarded[a.resource];
      if (!node || !a.resourceRequest || a.apiGroup !== '' || !g) return noOpinion;
      if (a.subresource !== g.subresource) return noOpinion;
      if (a.verb === g.verb && a.name && graph.related(node, a.resource, a.namespace, a.name))
        return { decision: 'allow', reason: '' };
      return { decision: 'deny', reason: `no relationship found between node '${node}' and this object` };
    },
  };
}

const podsPrefix = '/registry/core/pods/';
const claimsPrefix = '/registry/core/persistentvolumeclaims/';

/** The graph's write hook: a pod or claim the server just wrote (so a new pod's objects are readable at once). */
export function graphWrite(
  graph: NodeGraph,
  r: { group: string; plural: string },
  obj: KubeObject | undefined,
  old: KubeObject | undefined,
): void {
  if (r.group !== '' || (r.plural !== 'pods' && r.plural !== 'persistentvolumeclaims')) return;
  const o = obj ?? old;
  if (!o) return;
  const key = `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  const revision = Number(obj?.metadata?.resourceVersion) || undefined;
  if (r.plural === 'pods') graph.setPod(key, obj, revision);
  else graph.setClaim(key, obj, revision);
}

/** Keeps `graph` in step with the stored pods and claims (list, then watch). */
export async function feedNodeGraph(store: Store, graph: NodeGraph): Promise<{ stop(): void }> {
  const feed = (prefix: string, kind: 'pods' | 'claims') =>
    feedFromPrefix(
      store,
      prefix,
      {
        apply(kv, deleted) {
          const key = kv.key.slice(prefix.length);
          // The server's own writes reach the graph through its write hook first; most events need no decoding.
          if (!deleted && graph.seen(`${kind}/${key}`, kv.modRevision)) return;
          const o = deleted ? undefined : decode(kv);
          if (kind === 'pods') graph.setPod(key, o, kv.modRevision);
          else graph.setClaim(key, o, kv.modRevision);
        },
        listed: (keys) => graph.retain(kind, new Set([...keys].map((k) => k.slice(prefix.length)))),
      },
      'node authorizer',
    );
  const pods = await feed(podsPrefix, 'pods');
  const claims = await feed(claimsPrefix, 'claims');
  return {
    stop() {
      pods.stop();
      claims.stop();
    },
  };
}
