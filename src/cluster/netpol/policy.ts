/**
 * What a NetworkPolicy says, read once into a plain shape the rule generator works on: which
 * pods it selects, whether it isolates them for ingress, egress or both (`policyTypes`, or
 * upstream's default: Ingress always, Egress when the policy has egress rules), and its rules.
 * An empty or missing peer list or port list means "all", as upstream reads it.
 */
import { arr, type Obj, obj } from '../api/field-values.js';
import type { KubeObject } from '../client/kube-client.js';

export type Protocol = 'tcp' | 'udp' | 'sctp';

/** A label selector as the API carries it (`matchLabels` and `matchExpressions`). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface PolicyPort {
  protocol: Protocol;
  /** A number, a container port's name, or undefined for every port of the protocol. */
  port?: number | string;
  /** The last port of a range starting at `port` (a number then). */
  endPort?: number;
}

export interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except: string[] };
}

export interface PolicyRule {
  /** Undefined: every source (ingress) or destination (egress). */
  peers?: PolicyPeer[];
  /** Undefined: every port and protocol. */
  ports?: PolicyPort[];
}

export interface Policy {
  namespace: string;
  name: string;
  podSelector: LabelSelector;
  /** Set when the policy isolates the pods it selects for ingress (maybe with no rule: deny all). */
  ingress?: PolicyRule[];
  egress?: PolicyRule[];
}

function readPort(p: Obj): PolicyPort {
  const protocol = String(p.protocol ?? 'TCP').toLowerCase() as Protocol;
  const out: PolicyPort = { protocol };
  if (typeof p.port === 'number' || typeof p.port === 'string') out.port = p.port;
  if (typeof p.port === 'number' && typeof p.endPort === 'number') out.endPort = p.endPort;
  return out;
}

function readPeer(p: Obj): PolicyPeer {
  const out: PolicyPeer = {};
  if (p.podSelector) out.podSelector = obj(p.podSelector) as LabelSelector;
  if (p.namespaceSelector) out.namespaceSelector = obj(p.namespaceSelector) as LabelSelector;
  if (p.ipBlock) {
    const b = obj(p.ipBlock);
    out.ipBlock = {
      cidr: String(b.cidr ?? ''),
      except: (Array.isArray(b.except) ? b.except : []).map(String),
    };
  }
  return out;
}

function readRule(r: Obj, peerField: 'from' | 'to'): PolicyRule {
  const out: PolicyRule = {};
  const peers = arr(r[peerField]);
  const ports = arr(r.ports);
  if (peers.length) out.peers = peers.map(readPeer);
  if (ports.length) out.ports = ports.map(readPort);
  return out;
}

/** Reads a networking.k8s.io/v1 NetworkPolicy. */
export function readPolicy(o: KubeObject): Policy {
  const spec = obj(o.spec);
  // Upstream's defaulting: Ingress always, Egress when there are egress rules.
  const types =
    Array.isArray(spec.policyTypes) && spec.policyTypes.length
      ? (spec.policyTypes as string[])
      : ['Ingress', ...(arr(spec.egress).length ? ['Egress'] : [])];
  const p: Policy = {
    namespace: o.metadata?.namespace ?? 'default',
    name: o.metadata?.name ?? '',
    podSelector: obj(spec.podSelector) as LabelSelector,
  };
  if (types.includes('Ingress')) p.ingress = arr(spec.ingress).map((r) => readRule(r, 'from'));
  if (types.includes('Egress')) p.egress = arr(spec.egress).map((r) => readRule(r, 'to'));
  return p;
}
