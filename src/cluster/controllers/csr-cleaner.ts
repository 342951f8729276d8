/**
 * Removes CertificateSigningRequests that are done with, as upstream's csrcleaner does: an
 * issued, denied or failed request an hour after that condition was last updated, a request
 * never decided a day after it was made, and any request whose issued certificate has expired.
 * Approved requests not yet issued stay (the signer may still act). Each request is checked
 * when it changes and again when its deadline comes (one timer per request), so nothing polls.
 */
import { X509Certificate } from 'node:crypto';
import { unlessNotFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import type { ControllerSpec } from './context.js';

const log = logger('csrcleaner');

/** Upstream's ages: decided requests an hour, pending ones a day. */
export const decidedTtlMs = 60 * 60_000;
export const pendingTtlMs = 24 * 60 * 60_000;

interface Condition {
  type: string;
  status?: string;
  lastUpdateTime?: string;
}

/** When the issued certificate stops being valid (ms), or undefined when none is issued or it does not parse. */
function certificateExpiry(csr: KubeObject): number | undefined {
  const b64 = csr.status?.certificate;
  if (!b64) return undefined;
  try {
    return Date.parse(new X509Certificate(Buffer.from(String(b64), 'base64')).validTo);
  } catch (e) {
    log.warn('issued certificate does not parse; kept for its conditions to decide', {
      csr: csr.metadata.name,
      err: e as Error,
    });
    return undefined;
  }
}

/**
 * When the request is due for removal (ms since the epoch), or undefined when it never is as it
 * stands (approved and not yet issued).
 */
export function cleanupDeadline(csr: KubeObject): number | undefined {
  const conditions = (csr.status?.conditions ?? []) as Condition[];
  const updated = (type: string) => {
    const c = conditions.find((x) => x.type === type && x.status !== 'False');
    return c ? Date.parse(c.lastUpdateTime ?? '') || 0 : undefined;
  };
  const deadlines: number[] = [];
  const expiry = certificateExpiry(csr);
  if (expiry !== undefined) deadlines.push(expiry);
  const approved = updated('Approved');
  if (csr.status?.certificate && approved !== undefined) deadlines.push(approved + decidedTtlMs);
  for (const type of ['Denied', 'Failed']) {
    const at = updated(type);
    if (at !== undefined) deadlines.push(at + decidedTtlMs);
  }
  if (conditions.length === 0)
    deadlines.push((Date.parse(String(csr.metadata.creationTimestamp ?? '')) || 0) + pendingTtlMs);
  return deadlines.length ? Math.min(...deadlines) : undefined;
}

export const csrCleanerController: ControllerSpec = {
  name: 'csrcleaner',
  start(ctx) {
    const csrs = ctx.informer(Resources.certificatesigningrequests);
    const q = ctx.queue(async (name) => {
      const csr = csrs.get(name);
      const deadline = csr && cleanupDeadline(csr);
      if (!csr || deadline === undefined) return;
      const wait = deadline - Date.now();
      if (wait > 0) {
        // Timers past 2^31 ms fire at once: a long wait is re-planned when the first one fires.
        q.checkAfter(name, Math.min(wait, 2 ** 31 - 1));
        return;
      }
      log.info('removing certificate signing request', { csr: name });
      await unlessNotFound(
        ctx.client.delete(Resources.certificatesigningrequests, undefined, name, { uid: csr.metadata.uid }),
      );
    });
    const add = (c: KubeObject) => q.add(c.metadata.name!);
    csrs.onAdd(add).onUpdate(add);
  },
};
