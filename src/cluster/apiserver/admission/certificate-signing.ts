/**
 * The CertificateSigningRequest strategy, as an admission plugin (upstream's csr strategy and
 * validation): on create the requester's identity is written into the spec (username, uid,
 * groups, extra: what the approver judges, never what the client claims) and the status is
 * emptied; the request must be a PEM certificate request signed by its key, name a signer and
 * usages. The status subresource cannot change the Approved/Denied conditions (the approval
 * subresource does), and a request is never both approved and denied.
 */
import { transitionTime } from '../../api/condition-time.js';
import { metaTime } from '../../api/meta-time.js';
import type { KubeObject } from '../../api/selectors.js';
import { invalidError } from '../../api/status.js';
import { parseRequest } from '../../certificates/signers.js';
import type { AdmissionPlugin, AdmissionRequest } from './chain.js';

interface Condition {
  type: string;
  status?: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

const approvalTypes = ['Approved', 'Denied'];
const conditionsOf = (o: KubeObject | undefined): Condition[] =>
  ((o?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).filter(Boolean);

const invalid = (req: AdmissionRequest, field: string, message: string) =>
  invalidError('certificates.k8s.io', 'CertificateSigningRequest', req.name, [{ field, message }]);

function validateSpec(req: AdmissionRequest): void {
  const spec = (req.object.spec ?? {}) as {
    request?: string;
    signerName?: string;
    usages?: string[];
    expirationSeconds?: number;
  };
  if (!spec.request) throw invalid(req, 'spec.request', 'Required value');
  try {
    parseRequest(Buffer.from(spec.request, 'base64').toString('utf8'));
  } catch (e) {
    throw invalid(req, 'spec.request', `Invalid value: "<request>": ${(e as Error).message}`);
  }
  if (!spec.signerName) throw invalid(req, 'spec.signerName', 'Required value');
  if (!/^[a-z0-9.-]+\/[A-Za-z0-9._-]+$/.test(spec.signerName))
    throw invalid(
      req,
      'spec.signerName',
      `Invalid value: "${spec.signerName}": must be a fully qualified domain and path of the form 'example.com/signer-name'`,
    );
  if (!spec.usages?.length) throw invalid(req, 'spec.usages', 'Required value');
  if (spec.expirationSeconds !== undefined && spec.expirationSeconds < 600)
    throw invalid(
      req,
      'spec.expirationSeconds',
      `Invalid value: ${spec.expirationSeconds}: may not specify a duration less than 600 seconds (10 minutes)`,
    );
}

function stampConditions(req: AdmissionRequest, conditions: Condition[]): void {
  const now = metaTime();
  const before = conditionsOf(req.oldObject);
  for (const c of conditions) {
    c.status ??= 'True';
    c.lastUpdateTime ??= now;
    const was = before.find((b) => b.type === c.type);
    c.lastTransitionTime ??= transitionTime(was, c.status, now);
  }
  const has = (t: string) => conditions.some((c) => c.type === t && c.status === 'True');
  if (has('Approved') && has('Denied'))
    throw invalid(
      req,
      'status.conditions',
      'Forbidden: Approved and Denied conditions are mutually exclusive',
    );
  for (const t of approvalTypes)
    if (before.some((b) => b.type === t) && !conditions.some((c) => c.type === t))
      throw invalid(req, 'status.conditions', `Forbidden: updates may not remove a condition of type "${t}"`);
}

export function certificateSigningAdmission(): AdmissionPlugin {
  return {
    name: 'CertificateSigningRequest',
    async admit(req) {
      if (req.resource.kind !== 'CertificateSigningRequest') return;
      const o = req.object;
      if (req.operation === 'CREATE') {
        const u = req.user;
        o.spec = {
          ...(o.spec ?? {}),
          username: u?.name ?? '',
          groups: u?.groups ?? [],
        };
        const spec = o.spec as Record<string, unknown>;
        delete spec.uid;
        delete spec.extra;
        if (u?.extra && Object.keys(u.extra).length) spec.extra = u.extra;
        o.status = {};
        return;
      }
      if (req.subresource !== 'approval' && req.subresource !== 'status') return;
      let conditions = conditionsOf(o);
      if (req.subresource === 'status') {
        // Only the approval subresource approves or denies.
        const kept = conditionsOf(req.oldObject).filter((c) => approvalTypes.includes(c.type));
        conditions = [...kept, ...conditions.filter((c) => !approvalTypes.includes(c.type))];
      }
      stampConditions(req, conditions);
      o.status = { ...(o.status ?? {}), conditions };
    },
    async validate(req) {
      if (req.resource.kind === 'CertificateSigningRequest' && req.operation === 'CREATE') validateSpec(req);
    },
  };
}
