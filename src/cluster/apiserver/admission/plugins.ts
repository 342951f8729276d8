/**
 * The admission plugins `berth server` runs, in kube-apiserver's order: the mutating ones fill
 * in defaults before the validating ones judge the result, and ResourceQuota charges last,
 * once nothing else can refuse the write.
 */
import type { Store } from '../../store/store.js';
import type { Authorizer } from '../authz/attributes.js';
import {
  certificateApprovalAdmission,
  certificateSigningPermissionAdmission,
} from './certificate-signers.js';
import { certificateSigningAdmission } from './certificate-signing.js';
import { certificateSubjectRestrictionAdmission } from './certificate-subject-restriction.js';
import { AdmissionChain } from './chain.js';
import { defaultTolerationSecondsAdmission } from './default-toleration-seconds.js';
import { limitRangerAdmission } from './limit-ranger.js';
import { nodeRestrictionAdmission } from './node-restriction.js';
import { podSecurityAdmission } from './pod-security.js';
import type { PodSecurityConfig } from './pod-security-config.js';
import { priorityAdmission } from './priority.js';
import { resourceQuotaAdmission } from './resource-quota.js';
import { serviceAccountAdmission } from './service-account.js';
import { defaultStorageClassAdmission } from './storage-class.js';

/**
 * `authz` answers the plugins that ask the authorizer (who may approve or sign for a
 * certificate signer): the server's own, so they judge as the request itself was judged.
 * `podSecurity` is `--admission-control-config-file`'s PodSecurity configuration;
 * `defaultTolerationSeconds` is `--default-toleration-seconds` (30 when left out).
 */
export function defaultAdmission(
  store: Store,
  authz: Authorizer,
  podSecurity?: PodSecurityConfig,
  defaultTolerationSeconds?: number,
): AdmissionChain {
  return new AdmissionChain([
    certificateSigningAdmission(),
    limitRangerAdmission(store),
    serviceAccountAdmission(store),
    priorityAdmission(store),
    defaultTolerationSecondsAdmission(defaultTolerationSeconds),
    defaultStorageClassAdmission(store),
    nodeRestrictionAdmission(),
    certificateApprovalAdmission(authz),
    certificateSigningPermissionAdmission(authz),
    certificateSubjectRestrictionAdmission(),
    podSecurityAdmission(store, podSecurity),
    resourceQuotaAdmission(store),
  ]);
}
