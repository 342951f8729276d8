/**
 * The csrapproving controller (kube-controller-manager's): a pending request for
 * kubernetes.io/kube-apiserver-client-kubelet that is a node client request (subject
 * `system:node:NAME` in `system:nodes`, client usages, no SANs) is approved when a
 * SubjectAccessReview says its requester may create `certificatesigningrequests/nodeclient`
 * (a new node: the join token's group system:bootstrappers has it, as kubeadm and k3s bind
 * it), or `certificatesigningrequests/selfnodeclient` when the requester is that node renewing
 * its own certificate. Berth also approves a kubernetes.io/kubelet-serving request made by
 * the node it names when every DNS name and IP it asks for is one its Node reports in
 * `status.addresses` and no other Node reports its IPs, loopback aside (upstream approves no
 * serving requests, leaving them to the operator or an add-on approver; k3s signs its
 * kubelets' serving certificates itself, whatever they name). Anything else waits for
 * `kubectl certificate approve` or `deny`.
 */
import { isIP } from 'node:net';
import {
  kubeletClient,
  kubeletServing,
  type ParsedRequest,
  parseRequest,
  signerRefusal,
} from '../certificates/signers.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import type { ControllerSpec } from './context.js';
import { condition, hasCondition, requestPem } from './csr-conditions.js';

/** The Nodes the controller knows (its informer's cache). */
export interface NodeLookup {
  get(name: string): KubeObject | undefined;
  list(): KubeObject[];
}

/** Asks the API whether the CSR's requester may create `certificatesigningrequests/SUB`. */
async function requesterMay(
  ctx: Parameters<ControllerSpec['start']>[0],
  csr: KubeObject,
  subresource: string,
): Promise<boolean> {
  const review = await ctx.client.request<{ status?: { allowed?: boolean } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: csr.spec.username,
        groups: csr.spec.groups ?? [],
        ...(csr.spec.extra ? { extra: csr.spec.extra } : {}),
        resourceAttributes: {
          group: 'certificates.k8s.io',
          resource: 'certificatesigningrequests',
          verb: 'create',
          subresource,
        },
      },
    },
  );
  return review.status?.allowed === true;
}

/** The approval the controller gives, or undefined to leave the request alone. */
async function decide(
  ctx: Parameters<ControllerSpec['start']>[0],
  csr: KubeObject,
  req: ParsedRequest,
  nodes: NodeLookup,
): Promise<string | undefined> {
  const signer = csr.spec.signerName as string;
  const usages = (csr.spec.usages ?? []) as string[];
  if (signerRefusal(signer, usages, req)) return undefined;
  const self = csr.spec.username === req.commonName;
  if (signer === kubeletClient) {
    if (self && (await requesterMay(ctx, csr, 'selfnodeclient')))
      return 'Auto approving self kubelet client certificate after SubjectAccessReview.';
    if (await requesterMay(ctx, csr, 'nodeclient'))
      return 'Auto approving kubelet client certificate after SubjectAccessReview.';
    return undefined;
  }
  if (
    signer === kubeletServing &&
    self &&
    (csr.spec.groups ?? []).includes('system:nodes') &&
    namesOwnAddresses(req, nodes)
  )
    return 'Auto approving kubelet serving certificate: its names are the addresses its Node reports.';
  return undefined;
}

type Address = { type: string; address: string };
const addressesOf = (n: KubeObject | undefined): Address[] =>
  ((n?.status?.addresses ?? []) as Address[]).filter((a) => a?.address);

/**
 * Whether a serving request names only what its node reports in `status.addresses` (DNS names
 * among its Hostname and DNS entries, IPs among its IP entries) and no IP another Node
 * reports (loopback aside): a node may not get a certificate for another node's address.
 */
export function namesOwnAddresses(req: ParsedRequest, nodes: NodeLookup): boolean {
  const name = req.commonName.slice('system:node:'.length);
  const own = addressesOf(nodes.get(name));
  if (!own.length) return false;
  const dns = new Set(own.filter((a) => !isIP(a.address)).map((a) => a.address));
  const ips = new Set(own.filter((a) => isIP(a.address)).map((a) => a.address));
  if (!req.dns.every((d) => dns.has(d)) || !req.ips.every((i) => ips.has(i))) return false;
  // Loopback addresses are every node's own (simulated nodes all report 127.0.0.1).
  const shared = req.ips.filter((i) => !isLoopback(i));
  const others = nodes.list().filter((n) => n.metadata.name !== name);
  return !others.some((n) => addressesOf(n).some((a) => shared.includes(a.address)));
}

const isLoopback = (ip: string) => ip.startsWith('127.') || ip === '::1';

export const csrApprovingController: ControllerSpec = {
  name: 'csrapproving',
  start(ctx) {
    const csrs = ctx.informer(Resources.certificatesigningrequests);
    const nodeInformer = ctx.informer(Resources.nodes);
    const nodes: NodeLookup = { get: (n) => nodeInformer.get(n), list: () => nodeInformer.list() };
    const open = (c: KubeObject) =>
      (c.spec?.signerName === kubeletClient || c.spec?.signerName === kubeletServing) &&
      !hasCondition(c, 'Approved') &&
      !hasCondition(c, 'Denied');
    const q = ctx.queue(async (name) => {
      const csr = csrs.get(name);
      if (!csr || !open(csr)) return;
      let req: ParsedRequest;
      try {
        req = parseRequest(requestPem(csr));
      } catch {
        // The API validated the request at create; an unreadable one is the signer's to fail.
        return;
      }
      const message = await decide(ctx, csr, req, nodes);
      if (!message) return;
      await ctx.client.request(
        'PUT',
        `/apis/certificates.k8s.io/v1/certificatesigningrequests/${encodeURIComponent(name)}/approval`,
        {
          ...csr,
          status: {
            ...csr.status,
            conditions: [...(csr.status?.conditions ?? []), condition('Approved', 'AutoApproved', message)],
          },
        },
      );
    });
    const add = (c: KubeObject) => {
      if (open(c)) q.add(c.metadata.name!);
    };
    csrs.onAdd(add).onUpdate(add);
    // A serving request waits for its Node's addresses: look again when a Node changes.
    const nodeChanged = (n: KubeObject) => {
      const user = `system:node:${n.metadata.name}`;
      for (const c of csrs.list())
        if (open(c) && c.spec?.signerName === kubeletServing && c.spec?.username === user) add(c);
    };
    nodeInformer.onAdd(nodeChanged).onUpdate(nodeChanged);
  },
};
