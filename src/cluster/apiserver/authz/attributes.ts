/**
 * The authorization contract: what a request wants to do (computed once per request), the
 * decision an authorizer gives, and Kubernetes' wording of a refusal.
 */
import { ApiError } from '../../api/status.js';

/** Who made a request. */
export interface UserInfo {
  name: string;
  groups: string[];
  /** Extra claims that travel with the identity (a bound token's pod, for instance). */
  extra?: Record<string, string[]>;
}

/** What a request wants to do. Resource fields are '' for a non-resource request. */
export interface Attributes {
  user: UserInfo;
  verb: string;
  /** True for /api and /apis resource paths; false for /healthz, /version, discovery... */
  resourceRequest: boolean;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** The URL path, which non-resource rules match. */
  path: string;
  /** A list's or watch's field selector (the Node authorizer reads `spec.nodeName`). */
  fieldSelector?: string;
}

export type Decision = 'allow' | 'deny' | 'noOpinion';

export interface AuthorizerResult {
  decision: Decision;
  reason: string;
}

/** An authorization mode (RBAC, the system:masters bypass...). */
export interface Authorizer {
  authorize(attrs: Attributes): AuthorizerResult;
}

/** The fields of a resource request, with the rest defaulted. */
export function resourceAttributes(
  user: UserInfo,
  verb: string,
  a: { apiGroup?: string; resource: string; subresource?: string; namespace?: string; name?: string },
): Attributes {
  return {
    user,
    verb,
    resourceRequest: true,
    apiGroup: a.apiGroup ?? '',
    resource: a.resource,
    subresource: a.subresource ?? '',
    namespace: a.namespace ?? '',
    name: a.name ?? '',
    path: '',
  };
}

/** A non-resource request (`get` on `/healthz`...). */
export function pathAttributes(user: UserInfo, verb: string, path: string): Attributes {
  return {
    user,
    verb,
    resourceRequest: false,
    apiGroup: '',
    resource: '',
    subresource: '',
    namespace: '',
    name: '',
    path,
  };
}

/** The first authorizer with an opinion decides; none means deny. */
export function union(...authorizers: Authorizer[]): Authorizer {
  return {
    authorize(attrs) {
      const reasons: string[] = [];
      for (const a of authorizers) {
        const r = a.authorize(attrs);
        if (r.decision !== 'noOpinion') return r;
        if (r.reason) reasons.push(r.reason);
      }
      return { decision: 'deny', reason: reasons.join('; ') };
    },
  };
}

/** Members of system:masters may do anything, whatever the policy says (as upstream). */
export const mastersBypass: Authorizer = {
  authorize: ({ user }) =>
    user.groups.includes('system:masters')
      ? { decision: 'allow', reason: '' }
      : { decision: 'noOpinion', reason: '' },
};

/** Allows everything: for tests of the API that are not about authorization. */
export const allowAll: Authorizer = { authorize: () => ({ decision: 'allow', reason: '' }) };

/** Kubernetes' sentence for a refused request (responsewriters.forbiddenMessage). */
export function forbiddenMessage(a: Attributes): string {
  const user = JSON.stringify(a.user.name);
  if (!a.resourceRequest) return `User ${user} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace ? `in the namespace ${JSON.stringify(a.namespace)}` : 'at the cluster scope';
  return `User ${user} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)} ${where}`;
}

/** The 403 a refused request gets, worded and detailed as upstream's NewForbidden. */
export function forbidden(a: Attributes, reason = ''): ApiError {
  const why = forbiddenMessage(a) + (reason ? `: ${reason}` : '');
  if (!a.resourceRequest) return new ApiError(403, 'Forbidden', `forbidden: ${why}`);
  const qualified = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  const message = a.name
    ? `${qualified} ${JSON.stringify(a.name)} is forbidden: ${why}`
    : `${qualified} is forbidden: ${why}`;
  return new ApiError(403, 'Forbidden', message, {
    ...(a.name ? { name: a.name } : {}),
    ...(a.apiGroup ? { group: a.apiGroup } : {}),
    kind: a.resource,
  });
}
