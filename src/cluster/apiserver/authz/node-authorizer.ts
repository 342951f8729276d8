/**
 * The Node authorizer (upstream's, with AuthorizeNodeWithSelectors as Kubernetes 1.32 has it
 * on): a user `system:node:NAME` in group `system:nodes` may
 * - get and delete its own Node, list or watch it by `metadata.name`, create, update and patch
 *   Nodes and nodes/status (NodeRestriction then refuses any Node but its own), and its own
 *   Lease in kube-node-lease;
 * - get the pods bound to it, list and watch pods only with `spec.nodeName=NAME`, update and
 *   patch their status, and delete pods by name (NodeRestriction allows only its own;
 *   pods/eviction, creating pods, and other nodes' pods otherwise: no);
 * - get a Secret, ConfigMap, PersistentVolumeClaim or PersistentVolume, or create a
 *   ServiceAccount token, only when one of its pods uses it (a Secret also when a volume bound
 *   to one of its pods' claims names it; node-graph.ts, kept from the server's own writes and
 *   the store), list and watch such a Secret or ConfigMap by `metadata.name`, and list no others,
 *   except that it may list and watch Secrets selected by `type=kubernetes.io/tls` (its Ingress
 *   controller's certificates);
 * - create and update events, read Services (the environment of its pods), get Endpoints,
 *   create and read CertificateSigningRequests (its own renewal), token and access reviews.
 * Anything else gets no opinion here, so RBAC decides (the system:node ClusterRole is bound to
 * nobody, as upstream; system:node-proxier gives nodes the Service proxy's and the pod
 * network's reads of all Nodes, Services and EndpointSlices). Which Node or Lease a create names, and what a node may
 * change in its Node, is NodeRestriction's (admission/node-restriction.ts).
 */
import { decode } from '../../api/objects.js';
import type { KubeObject } from '../../api/selectors.js';
import type { Store } from '../../store/store.js';
import type { Attributes, Authorizer, AuthorizerResult } from './attributes.js';
import type { GraphKind, NodeGraph } from './node-graph.js';
import { feedFromPrefix } from './store-feed.js';

const allow: AuthorizerResult = { decision: 'allow', reason: '' };
const noOpinion = (reason = ''): AuthorizerResult => ({ decision: 'noOpinion', reason });

/** The node a user is, or undefined for any other user. */
export function nodeIdentity(user: Attributes['user']): string | undefined {
  if (!user.groups.includes('system:nodes') || !user.name.startsWith('system:node:')) return undefined;
  return user.name.slice('system:node:'.length) || undefined;
}

/** The objects a node may get only when one of its pods uses them (node-graph.ts). */
const graphResources = new Set(['secrets', 'configmaps', 'persistentvolumeclaims', 'persistentvolumes']);
/** Of those, the ones it may also list and watch by name. */
const namedReads = new Set(['secrets', 'configmaps']);

const is = (a: Attributes, group: string, resource: string, sub = '') =>
  a.apiGroup === group && a.resource === resource && a.subresource === sub;

/** Upstream's wording when no pod of the node links to the object. */
const noRelationship = (node: string) =>
  noOpinion(`no relationship found between node '${node}' and this object`);

/** `spec.nodeName=NAME` in a field selector. */
const selectsNode = (a: Attributes, node: string) =>
  (a.fieldSelector ?? '').split(',').some((t) => /^spec\.nodeName==?(.*)$/.exec(t.trim())?.[1] === node);

/** `type=kubernetes.io/tls` in a field selector. */
const selectsTlsSecrets = (a: Attributes) =>
  (a.fieldSelector ?? '').split(',').some((t) => /^type==?kubernetes\.io\/tls$/.test(t.trim()));

export class NodeAuthorizer implements Authorizer {
  constructor(private readonly graph: NodeGraph) {}

  authorize(a: Attributes): AuthorizerResult {
    const node = nodeIdentity(a.user);
    if (!node || !a.resourceRequest) return noOpinion();
    const v = a.verb;
    if (a.apiGroup === '' && !a.subresource && graphResources.has(a.resource)) {
      // The node's Ingress controller reads every TLS Secret (ingress/node-ingress.ts), and no other kind.
      if (a.resource === 'secrets' && (v === 'list' || v === 'watch') && selectsTlsSecrets(a)) return allow;
      if (namedReads.has(a.resource)) {
        // Secrets and ConfigMaps may also be listed and watched one by one (`metadata.name`), as
        // the kubelet's watching secret and config map managers do.
        if (!['get', 'list', 'watch'].includes(v)) return noOpinion('can only read resources of this type');
        if (!a.name) return noOpinion('No Object name found');
      } else if (v !== 'get') return noOpinion(`can only get individual resources of this type`);
      return this.graph.related(node, a.resource, a.namespace, a.name) ? allow : noRelationship(node);
    }
    if (is(a, '', 'serviceaccounts', 'token')) {
      if (v !== 'create') return noOpinion(`can only create tokens for individual service accounts`);
      return this.graph.related(node, 'serviceaccounts', a.namespace, a.name) ? allow : noRelationship(node);
    }
    if (a.apiGroup === '' && a.resource === 'nodes' && (a.subresource === '' || a.subresource === 'status')) {
      // Which Node a create or an update writes is NodeRestriction's to check (upstream's split).
      if ((v === 'create' && !a.subresource) || v === 'update' || v === 'patch') return allow;
      if (a.name === node && ['get', 'list', 'watch', 'delete'].includes(v)) return allow;
      if (['get', 'list', 'watch'].includes(v))
        return noOpinion(
          a.name
            ? `node '${node}' cannot read '${a.name}', only its own Node object`
            : `node '${node}' cannot read all nodes, only its own Node object`,
        );
      return noOpinion(`node '${node}' cannot ${v} node '${a.name}'`);
    }
    if (is(a, 'coordination.k8s.io', 'leases')) {
      if (a.namespace !== 'kube-node-lease') return noOpinion();
      if (v === 'create') return allow;
      if (a.name === node && ['get', 'update', 'patch', 'delete'].includes(v)) return allow;
      return noOpinion(`can only access node lease with the same name as the requesting node`);
    }
    if (a.apiGroup === '' && a.resource === 'pods') return this.pods(a, node);
    if ((a.apiGroup === '' || a.apiGroup === 'events.k8s.io') && a.resource === 'events')
      return ['create', 'update', 'patch'].includes(v) ? allow : noOpinion();
    // Services for its pods' environment; Endpoints by name only (upstream's, for glusterfs volumes).
    if (a.apiGroup === '' && a.resource === 'services' && !a.subresource)
      return ['get', 'list', 'watch'].includes(v) ? allow : noOpinion();
    if (a.apiGroup === '' && a.resource === 'endpoints' && !a.subresource)
      return v === 'get' ? allow : noOpinion();
    if (is(a, 'certificates.k8s.io', 'certificatesigningrequests'))
      return ['create', 'get', 'list', 'watch'].includes(v) ? allow : noOpinion();
    if (
      v === 'create' &&
      (is(a, 'authentication.k8s.io', 'tokenreviews') ||
        is(a, 'authorization.k8s.io', 'subjectaccessreviews'))
    )
      return allow;
    return noOpinion();
  }

  private pods(a: Attributes, node: string): AuthorizerResult {
    const v = a.verb;
    if (!a.subresource && (v === 'list' || v === 'watch')) {
      if (selectsNode(a, node)) return allow;
      // One of its own pods, listed or watched by `metadata.name`.
      if (a.name) return this.graph.hasPod(node, a.namespace, a.name) ? allow : noRelationship(node);
      return noOpinion(`can only list/watch pods with spec.nodeName field selector`);
    }
    const own = a.name !== '' && this.graph.hasPod(node, a.namespace, a.name);
    if (!a.subresource && v === 'get') return own ? allow : noRelationship(node);
    // Any pod by name, as upstream's static node rules: NodeRestriction then refuses a pod
    // bound elsewhere, on the stored pod, and a pod that is gone is NotFound.
    if (!a.subresource && v === 'delete' && a.name) return allow;
    if (a.subresource === 'status' && (v === 'get' || v === 'update' || v === 'patch'))
      return own ? allow : noRelationship(node);
    return noOpinion();
  }
}

/** The core resources the graph follows, with their kind in it and their store prefix. */
const graphKinds: Record<string, { kind: GraphKind; prefix: string }> = {
  pods: { kind: 'pods', prefix: '/registry/core/pods/' },
  persistentvolumeclaims: { kind: 'claims', prefix: '/registry/core/persistentvolumeclaims/' },
  persistentvolumes: { kind: 'volumes', prefix: '/registry/core/persistentvolumes/' },
};

/** The graph's write hook: a pod, claim or volume the server just wrote (so a new pod's objects are readable at once). */
export function graphWrite(
  graph: NodeGraph,
  r: { group: string; plural: string },
  obj: KubeObject | undefined,
  old: KubeObject | undefined,
): void {
  const followed = r.group === '' ? graphKinds[r.plural] : undefined;
  const o = obj ?? old;
  if (!followed || !o) return;
  const ns = o.metadata?.namespace;
  const key =
    followed.kind === 'volumes' ? (o.metadata?.name ?? '') : `${ns ?? ''}/${o.metadata?.name ?? ''}`;
  graph.set(followed.kind, key, obj, Number(obj?.metadata?.resourceVersion) || undefined);
}

/** Keeps `graph` in step with the stored pods, claims and volumes (list, then watch). */
export async function feedNodeGraph(store: Store, graph: NodeGraph): Promise<{ stop(): void }> {
  const feed = ({ prefix, kind }: { prefix: string; kind: GraphKind }) =>
    feedFromPrefix(
      store,
      prefix,
      {
        apply(kv, deleted) {
          const key = kv.key.slice(prefix.length);
          // The server's own writes reach the graph through its write hook first; most events need no decoding.
          if (!deleted && graph.seen(`${kind}/${key}`, kv.modRevision)) return;
          graph.set(kind, key, deleted ? undefined : decode(kv), kv.modRevision);
        },
        listed: (keys) => graph.retain(kind, new Set([...keys].map((k) => k.slice(prefix.length)))),
      },
      'node authorizer',
    );
  const feeds: { stop(): void }[] = [];
  for (const k of Object.values(graphKinds)) feeds.push(await feed(k));
  return {
    stop() {
      for (const f of feeds) f.stop();
    },
  };
}
