/**
 * Asking the API for a certificate, as client-go's certificate/csr helpers do: create a
 * CertificateSigningRequest (named after the request, so a retry finds the one it made) and
 * watch it until a signer fills `status.certificate`, or it is Denied or Failed, or the time
 * runs out (nothing approves or signs it: the server's controllers are off).
 */
import { createHash } from 'node:crypto';
import { BerthError, isAlreadyExists } from '../../core/errors.js';
import { type KubeClient, type KubeObject, Resources } from '../client/kube-client.js';

export interface CertificateRequest {
  /** The PEM certificate request. */
  request: string;
  signerName: string;
  usages: string[];
}

const r = Resources.certificatesigningrequests;

interface Condition {
  type: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** The certificate, or the reason none will come, or undefined while it is pending. */
function outcome(csr: KubeObject): { cert?: string; refused?: string } | undefined {
  if (csr.status?.certificate)
    return { cert: Buffer.from(csr.status.certificate, 'base64').toString('utf8') };
  const c = ((csr.status?.conditions ?? []) as Condition[]).find(
    (x) => (x.type === 'Denied' || x.type === 'Failed') && x.status !== 'False',
  );
  if (c)
    return {
      refused: `${c.type.toLowerCase()}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`,
    };
  return undefined;
}

/** Creates the request and resolves with the signed certificate (PEM). */
export async function requestCertificate(
  client: KubeClient,
  want: CertificateRequest,
  timeoutMs = 60_000,
): Promise<string> {
  const name = `node-csr-${createHash('sha256').update(want.request).digest('hex').slice(0, 32)}`;
  let csr: KubeObject;
  try {
    csr = await client.create(r, undefined, {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name },
      spec: {
        request: Buffer.from(want.request).toString('base64'),
        signerName: want.signerName,
        usages: want.usages,
      },
    });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    csr = await client.get(r, undefined, name);
  }
  const done = (o: KubeObject): string | undefined => {
    const out = outcome(o);
    if (out?.refused)
      throw new BerthError('PermissionDenied', `Certificate signing request ${name} was ${out.refused}`);
    return out?.cert;
  };
  const first = done(csr);
  if (first) return first;
  return await new Promise<string>((resolve, reject) => {
    let stop = () => {};
    let finished = false;
    const timer = setTimeout(() => {
      stop();
      reject(
        new BerthError(
          'Unavailable',
          `Certificate signing request ${name} (${want.signerName}) was not signed within ${timeoutMs / 1000} s: is the server's csrapproving/csrsigning controller running?`,
        ),
      );
    }, timeoutMs);
    const finish = (f: () => void) => {
      finished = true;
      clearTimeout(timer);
      stop();
      f();
    };
    const watchFrom = (rv: string) => {
      stop = client.watch(
        r,
        rv,
        (e) => {
          if (e.type !== 'ADDED' && e.type !== 'MODIFIED') return;
          try {
            const cert = done(e.object);
            if (cert) finish(() => resolve(cert));
          } catch (err) {
            finish(() => reject(err));
          }
        },
        () => {
          if (finished) return;
          // The watch ended or broke: read the request again and watch on from there.
          client.get(r, undefined, name).then(
            (o) => {
              try {
                const cert = done(o);
                if (cert) finish(() => resolve(cert));
                else watchFrom(String(o.metadata.resourceVersion ?? '0'));
              } catch (e2) {
                finish(() => reject(e2));
              }
            },
            (e2) => finish(() => reject(e2)),
          );
        },
        `fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`,
      );
    };
    watchFrom(String(csr.metadata.resourceVersion ?? '0'));
  });
}
