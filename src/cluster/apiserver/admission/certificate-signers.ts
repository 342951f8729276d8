/**
 * Who may approve and who may sign a CertificateSigningRequest, by signer (upstream's
 * CertificateApproval and CertificateSigning admission plugins): RBAC on
 * `certificatesigningrequests/approval` or `/status` lets a user write those subresources at
 * all; these plugins then ask the authorizer whether the user may `approve` (an update of
 * `/approval`) or `sign` (an update of `/status` that changes `status.certificate`) for the
 * request's signer: the `signers` resource in certificates.k8s.io, named by the signer name or
 * by its domain with `/*` (`kubernetes.io/*`). So a user who may approve requests for
 * `example.com/my-signer` cannot approve a node's client certificate.
 */
import type { KubeObject } from '../../api/selectors.js';
import { type Authorizer, resourceAttributes, type UserInfo } from '../authz/attributes.js';
import { type AdmissionPlugin, type AdmissionRequest, forbidden } from './chain.js';

const csrGroup = 'certificates.k8s.io';

/**
 * Whether `user` may `verb` for `signerName`: allowed on the signer's own name, or on its
 * domain's wildcard (upstream's IsAuthorizedForSignerName).
 */
export function mayUseSigner(authz: Authorizer, user: UserInfo, verb: string, signerName: string): boolean {
  const allowed = (name: string) =>
    authz.authorize(resourceAttributes(user, verb, { apiGroup: csrGroup, resource: 'signers', name }))
      .decision === 'allow';
  return allowed(signerName) || allowed(`${signerName.split('/')[0]}/*`);
}

const isCsr = (req: AdmissionRequest) =>
  req.resource.kind === 'CertificateSigningRequest' && req.resource.group === csrGroup;
const signerOf = (o: KubeObject | undefined) =>
  String((o?.spec as { signerName?: string })?.signerName ?? '');
const certificateOf = (o: KubeObject | undefined) =>
  (o?.status as { certificate?: string } | undefined)?.certificate;

/** CertificateApproval: every update of `/approval` needs `approve` on the request's signer. */
export function certificateApprovalAdmission(authz: Authorizer): AdmissionPlugin {
  return {
    name: 'CertificateApproval',
    async validate(req) {
      if (!isCsr(req) || req.operation !== 'UPDATE' || req.subresource !== 'approval' || !req.user) return;
      const signer = signerOf(req.object);
      if (!mayUseSigner(authz, req.user, 'approve', signer))
        throw forbidden(req, `user not permitted to approve requests with signerName "${signer}"`);
    },
  };
}

/**
 * CertificateSigning: an update of `/status` that sets or changes `status.certificate` needs
 * `sign` on the signer the request named (read from the stored request, which the update
 * cannot change).
 */
export function certificateSigningPermissionAdmission(authz: Authorizer): AdmissionPlugin {
  return {
    name: 'CertificateSigning',
    async validate(req) {
      if (!isCsr(req) || req.operation !== 'UPDATE' || req.subresource !== 'status' || !req.user) return;
      if (certificateOf(req.object) === certificateOf(req.oldObject)) return;
      const signer = signerOf(req.oldObject);
      if (!mayUseSigner(authz, req.user, 'sign', signer))
        throw forbidden(req, `user not permitted to sign requests with signerName "${signer}"`);
    },
  };
}
