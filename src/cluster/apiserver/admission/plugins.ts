/**
 * The admission plugins `berth server` runs, in kube-apiserver's order: the mutating ones fill
 * in defaults before the validating ones judge the result, and ResourceQuota charges last,
 * once nothing else can refuse the write.
 */
import type { Store } from '../../store/store.js';
import { certificateSigningAdmission } from './certificate-signing.js';
import { AdmissionChain } from './chain.js';
import { limitRangerAdmission } from './limit-ranger.js';
import { nodeRestrictionAdmission } from './node-restriction.js';
import { podSecurityAdmission } from './pod-security.js';
import { priorityAdmission } from './priority.js';
import { resourceQuotaAdmission } from './resource-quota.js';
import { serviceAccountAdmission } from './service-account.js';
import { defaultStorageClassAdmission } from './storage-class.js';

export function defaultAdmission(store: Store): AdmissionChain {
  return new AdmissionChain([
    certificateSigningAdmission(),
    limitRangerAdmission(store),
    serviceAccountAdmission(store),
    priorityAdmission(store),
    defaultStorageClassAdmission(store),
    nodeRestrictionAdmission(),
    podSecurityAdmission(store),
    resourceQuotaAdmission(store),
  ]);
}
