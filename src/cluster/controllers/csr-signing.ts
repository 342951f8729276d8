/**
 * The csrsigning controller (kube-controller-manager's, with the cluster CA as every signer's
 * CA as kubeadm and k3s configure it): an approved, not yet signed, not failed request for one
 * of the signers in certificates/signers.ts is checked against that signer's rules and
 * signed into `status.certificate` (for `spec.expirationSeconds`, at most the signing duration);
 * one the signer refuses gets a Failed condition
 * (SignerValidationFailure) naming why, so its requester stops waiting. Requests for other
 * signers are left to whoever serves them.
 */
import { readFileSync } from 'node:fs';
import { knownSigners, parseRequest, signerRefusal, signRequest } from '../certificates/signers.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import type { ControllerSpec } from './context.js';
import { condition, hasCondition, requestPem } from './csr-conditions.js';

/** Upstream's default `--cluster-signing-duration`: a year. */
export const defaultSigningSeconds = 365 * 86_400;

export const csrSigningController: ControllerSpec = {
  name: 'csrsigning',
  start(ctx) {
    const files = ctx.options.clusterSigning;
    if (!files) return;
    const ca = { cert: readFileSync(files.certFile, 'utf8'), key: readFileSync(files.keyFile, 'utf8') };
    const maxSeconds = files.durationSeconds ?? defaultSigningSeconds;
    const csrs = ctx.informer(Resources.certificatesigningrequests);
    const pending = (c: KubeObject) =>
      knownSigners.includes(c.spec?.signerName) &&
      hasCondition(c, 'Approved') &&
      !hasCondition(c, 'Failed') &&
      !c.status?.certificate;
    const q = ctx.queue(async (name) => {
      const csr = csrs.get(name);
      if (!csr || !pending(csr)) return;
      const usages = (csr.spec.usages ?? []) as string[];
      let refusal: string | undefined;
      let cert: string | undefined;
      try {
        const req = parseRequest(requestPem(csr));
        refusal = signerRefusal(csr.spec.signerName, usages, req);
        const seconds = Math.min(Number(csr.spec.expirationSeconds ?? maxSeconds), maxSeconds);
        if (!refusal) cert = signRequest(ca, req, usages, seconds);
      } catch (e) {
        refusal = (e as Error).message;
      }
      const status = cert
        ? { ...csr.status, certificate: Buffer.from(cert).toString('base64') }
        : {
            ...csr.status,
            conditions: [
              ...(csr.status?.conditions ?? []),
              condition('Failed', 'SignerValidationFailure', refusal ?? 'the signer refused the request'),
            ],
          };
      await ctx.client.updateStatus(Resources.certificatesigningrequests, { ...csr, status });
    });
    const add = (c: KubeObject) => {
      if (pending(c)) q.add(c.metadata.name!);
    };
    csrs.onAdd(add).onUpdate(add);
  },
};
