/**
 * Requests that are answered, not stored: TokenReview and SelfSubjectReview
 * (authentication.k8s.io), SelfSubjectAccessReview and SubjectAccessReview
 * (authorization.k8s.io), and the serviceaccounts/token subresource (TokenRequest), which
 * issues a ServiceAccount JWT for in-cluster clients.
 */
import type { KubeObject } from '../api/selectors.js';
import { badRequest } from '../api/status.js';
import { type Authenticator, type Authorizer, signServiceAccountToken, type UserInfo } from './auth.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

/** Answers a review object posted by `user`. */
export function answerReview(
  kind: string,
  body: KubeObject,
  user: UserInfo,
  authn: Authenticator,
  authz: Authorizer,
): KubeObject {
  const spec = obj(body.spec);
  const base = { apiVersion: body.apiVersion, kind, metadata: { creationTimestamp: null } as Obj, spec };
  switch (kind) {
    case 'TokenReview': {
      if (typeof spec.token !== 'string') throw badRequest('TokenReview: spec.token is required');
      const who = authn.byToken(spec.token);
      return {
        ...base,
        status: who
          ? {
              authenticated: true,
              user: { username: who.name, groups: who.groups },
              audiences: spec.audiences ?? [],
            }
          : { authenticated: false, user: {} },
      };
    }
    case 'SelfSubjectReview':
      return { ...base, status: { userInfo: { username: user.name, groups: user.groups } } };
    case 'SelfSubjectAccessReview':
    case 'SubjectAccessReview': {
      const ra = obj(spec.resourceAttributes);
      const subject: UserInfo =
        kind === 'SelfSubjectAccessReview'
          ? user
          : { name: String(spec.user ?? ''), groups: (spec.groups as string[] | undefined) ?? [] };
      const denied = authz({
        user: subject,
        verb: String(ra.verb ?? obj(spec.nonResourceAttributes).verb ?? ''),
        ...(ra.group !== undefined ? { group: String(ra.group) } : {}),
        ...(ra.resource !== undefined ? { resource: String(ra.resource) } : {}),
        ...(ra.namespace !== undefined ? { namespace: String(ra.namespace) } : {}),
        ...(ra.name !== undefined ? { name: String(ra.name) } : {}),
        path: String(obj(spec.nonResourceAttributes).path ?? ''),
      });
      return { ...base, status: denied ? { allowed: false, reason: denied } : { allowed: true } };
    }
    default:
      throw badRequest(`${kind} cannot be created`);
  }
}

/** Answers a TokenRequest for a stored ServiceAccount. */
export function issueToken(sa: KubeObject, body: KubeObject, key: string): KubeObject {
  const spec = obj(body.spec);
  const seconds = typeof spec.expirationSeconds === 'number' ? Math.max(600, spec.expirationSeconds) : 3600;
  const token = signServiceAccountToken(
    key,
    sa.metadata?.namespace ?? '',
    sa.metadata?.name ?? '',
    String(sa.metadata?.uid ?? ''),
    seconds,
  );
  return {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    metadata: { name: sa.metadata?.name, namespace: sa.metadata?.namespace, creationTimestamp: null },
    spec: { ...spec, expirationSeconds: seconds },
    status: {
      token,
      expirationTimestamp: new Date(Date.now() + seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    },
  };
}
