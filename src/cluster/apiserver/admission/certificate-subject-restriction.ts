/**
 * CertificateSubjectRestriction (upstream's plugin): a request for the
 * kubernetes.io/kube-apiserver-client signer may not ask for group (O) `system:masters`. A
 * certificate in that group bypasses all authorization, so whoever may approve client
 * certificates would otherwise be able to mint cluster-admins.
 */
import { kubeApiserverClient, parseRequest } from '../../certificates/signers.js';
import { type AdmissionPlugin, forbidden } from './chain.js';

export function certificateSubjectRestrictionAdmission(): AdmissionPlugin {
  return {
    name: 'CertificateSubjectRestriction',
    async validate(req) {
      if (req.resource.kind !== 'CertificateSigningRequest' || req.resource.group !== 'certificates.k8s.io')
        return;
      if (req.operation !== 'CREATE') return;
      const spec = req.object.spec as { signerName?: string; request?: string } | undefined;
      if (spec?.signerName !== kubeApiserverClient) return;
      // The strategy (certificate-signing.ts) has refused an unreadable request already.
      const parsed = parseRequest(Buffer.from(spec.request ?? '', 'base64').toString('utf8'));
      if (parsed.organizations.includes('system:masters'))
        throw forbidden(req, `use of ${kubeApiserverClient} signer with system:masters group is not allowed`);
    },
  };
}
