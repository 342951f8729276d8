/**
 * The csrapproving controller (kube-controller-manager's): a pending request for
 * kubernetes.io/kube-apiserver-client-kubelet that is a node client request (subject
 * `system:node:NAME` in `system:nodes`, client usages, no SANs) is approved when a
 * SubjectAccessReview says its requester may create `certificatesigningrequests/nodeclient`
 * (a new node: the join token's group system:bootstrappers has it, as kubeadm and k3s bind
 * it), or `certificatesigningrequests/selfnodeclient` when the requester is that node renewing
 * its own certificate. Berth also approves a kubernetes.io/kubelet-serving request made by
 * the node it names (upstream leaves those to the cluster's operator; k3s signs them itself).
 * Anything else waits for `kubectl certificate approve` or `deny`.
 */
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
  if (signer === kubeletServing && self && (csr.spec.groups ?? []).includes('system:nodes'))
    return "Auto approving the kubelet serving certificate of the node's own identity.";
  return undefined;
}

export const csrApprovingController: ControllerSpec = {
  name: 'csrapproving',
  start(ctx) {
    const csrs = ctx.informer(Resources.certificatesigningrequests);
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
      const message = await decide(ctx, csr, req);
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
  },
};
