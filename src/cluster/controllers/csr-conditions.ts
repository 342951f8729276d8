/** Reading a CertificateSigningRequest's state, shared by the approving and signing controllers. */
import { metaTime } from '../api/meta-time.js';
import type { KubeObject } from '../client/kube-client.js';

interface Condition {
  type: string;
  status?: string;
}

/** Whether the request carries condition `type` with status True. */
export const hasCondition = (csr: KubeObject, type: string): boolean =>
  ((csr.status?.conditions ?? []) as Condition[]).some((c) => c.type === type && c.status !== 'False');

/** The PEM request of a CSR (spec.request is base64). */
export const requestPem = (csr: KubeObject): string =>
  Buffer.from(String(csr.spec?.request ?? ''), 'base64').toString('utf8');

/** A condition as the controllers write it. */
export const condition = (type: string, reason: string, message: string) => {
  const now = metaTime();
  return { type, status: 'True', reason, message, lastUpdateTime: now, lastTransitionTime: now };
};
