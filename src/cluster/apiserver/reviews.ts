/**
 * Requests that are answered, not stored: TokenReview and SelfSubjectReview
 * (authentication.k8s.io); SubjectAccessReview, LocalSubjectAccessReview,
 * SelfSubjectAccessReview and SelfSubjectRulesReview (authorization.k8s.io); and the
 * serviceaccounts/token subresource (TokenRequest), which issues a ServiceAccount JWT.
 */
import { type Obj, obj } from '../api/field-values.js';
import { metaTime } from '../api/meta-time.js';
import type { KubeObject } from '../api/selectors.js';
import { ApiError, badRequest, invalidError } from '../api/status.js';
import type { Authenticator, UserInfo } from './auth.js';
import { type Attributes, type Authorizer, pathAttributes, resourceAttributes } from './authz/attributes.js';
import type { PolicyRule } from './authz/rules.js';
import { type BoundObject, signServiceAccountToken } from './service-account-token.js';

const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));

export interface ReviewDeps {
  authn: Authenticator;
  authz: Authorizer;
  /** The RBAC rules of a user in a namespace, for SelfSubjectRulesReview. */
  rulesFor(user: UserInfo, namespace: string): { rules: PolicyRule[]; missing: string[] };
}

/** The attributes an access review asks about. */
function reviewAttributes(user: UserInfo, spec: Obj, namespace?: string): Attributes {
  const nra = obj(spec.nonResourceAttributes);
  if (spec.resourceAttributes === undefined && spec.nonResourceAttributes !== undefined)
    return pathAttributes(user, str(nra.verb), str(nra.path));
  const ra = obj(spec.resourceAttributes);
  return resourceAttributes(user, str(ra.verb), {
    apiGroup: str(ra.group),
    resource: str(ra.resource),
    subresource: str(ra.subresource),
    namespace: namespace ?? str(ra.namespace),
    name: str(ra.name),
  });
}

/** The rules of `user` in `namespace` as a SelfSubjectRulesReview's status lists them. */
function rulesStatus(deps: ReviewDeps, user: UserInfo, namespace: string): Obj {
  const { rules, missing } = deps.rulesFor(user, namespace);
  const resourceRules = rules
    .filter((r) => !r.nonResourceURLs?.length)
    .map((r) => ({
      verbs: r.verbs,
      apiGroups: r.apiGroups ?? [],
      resources: r.resources ?? [],
      ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}),
    }));
  const nonResourceRules = rules
    .filter((r) => r.nonResourceURLs?.length)
    .map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs }));
  return {
    resourceRules,
    nonResourceRules,
    incomplete: missing.length > 0,
    ...(missing.length ? { evaluationError: missing.join(', ') } : {}),
  };
}

/** Answers a review object posted by `user` (in `namespace`, for the namespaced LocalSubjectAccessReview). */
export async function answerReview(
  kind: string,
  body: KubeObject,
  user: UserInfo,
  deps: ReviewDeps,
  namespace?: string,
): Promise<KubeObject> {
  const spec = obj(body.spec);
  const base = {
    apiVersion: body.apiVersion,
    kind,
    metadata: { creationTimestamp: null, ...(namespace ? { namespace } : {}) } as Obj,
    spec,
  };
  switch (kind) {
    case 'TokenReview': {
      if (typeof spec.token !== 'string') throw badRequest('TokenReview: spec.token is required');
      const wanted = Array.isArray(spec.audiences) ? (spec.audiences as string[]) : undefined;
      const who = await deps.authn.byToken(spec.token, wanted);
      return {
        ...base,
        status: who
          ? {
              authenticated: true,
              user: {
                username: who.user.name,
                groups: who.user.groups,
                ...(who.user.extra ? { extra: who.user.extra } : {}),
              },
              audiences: who.audiences,
            }
          : {
              authenticated: false,
              user: {},
              error: 'token is not valid for the requested audiences, or has expired',
            },
      };
    }
    case 'SelfSubjectReview':
      return { ...base, status: { userInfo: { username: user.name, groups: user.groups } } };
    case 'SelfSubjectRulesReview':
      return { ...base, status: rulesStatus(deps, user, str(spec.namespace)) };
    case 'SelfSubjectAccessReview':
    case 'SubjectAccessReview':
    case 'LocalSubjectAccessReview': {
      if (kind === 'LocalSubjectAccessReview') {
        const ns = str(obj(spec.resourceAttributes).namespace);
        if (ns !== (namespace ?? ''))
          throw badRequest(
            `spec.resourceAttributes.namespace must match namespace: ${JSON.stringify(namespace ?? '')}`,
          );
      }
      const subject: UserInfo =
        kind === 'SelfSubjectAccessReview'
          ? user
          : { name: str(spec.user), groups: Array.isArray(spec.groups) ? (spec.groups as string[]) : [] };
      if (kind !== 'SelfSubjectAccessReview' && !subject.name && !subject.groups.length)
        throw invalidError('authorization.k8s.io', kind, '', [
          {
            field: 'spec.user',
            reason: 'FieldValueInvalid',
            message: 'Invalid value: "": at least one of user or group must be specified',
          },
        ]);
      const { decision, reason } = deps.authz.authorize(reviewAttributes(subject, spec, namespace));
      return {
        ...base,
        status: { allowed: decision === 'allow', ...(reason ? { reason } : {}) },
      };
    }
    default:
      throw badRequest(`${kind} cannot be created`);
  }
}

/** Reads the bound object a TokenRequest names; resolves to its uid (or throws NotFound). */
export type BoundLookup = (kind: 'Pod' | 'Secret', namespace: string, name: string) => Promise<string>;

/**
 * Answers a TokenRequest for a stored ServiceAccount: audiences (default the API server's),
 * a lifetime of at least ten minutes (default one hour), optionally bound to a Pod or Secret.
 */
export async function issueToken(
  sa: KubeObject,
  body: KubeObject,
  key: string,
  boundUid: BoundLookup,
): Promise<KubeObject> {
  const spec = obj(body.spec);
  const namespace = sa.metadata?.namespace ?? '';
  const name = sa.metadata?.name ?? '';
  const seconds = spec.expirationSeconds === undefined ? 3600 : Number(spec.expirationSeconds);
  if (!Number.isInteger(seconds) || seconds < 600)
    throw invalidError('authentication.k8s.io', 'TokenRequest', name, [
      {
        field: 'spec.expirationSeconds',
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${JSON.stringify(spec.expirationSeconds)}: may not specify a duration less than 10 minutes`,
      },
    ]);
  const audiences = Array.isArray(spec.audiences) ? (spec.audiences as string[]).map(String) : [];
  let bound: BoundObject | undefined;
  const ref = spec.boundObjectRef === undefined ? undefined : obj(spec.boundObjectRef);
  if (ref) {
    const kind = str(ref.kind);
    if (kind !== 'Pod' && kind !== 'Secret')
      throw invalidError('authentication.k8s.io', 'TokenRequest', name, [
        {
          field: 'spec.boundObjectRef.kind',
          reason: 'FieldValueNotSupported',
          message: `Unsupported value: ${JSON.stringify(kind)}: supported values: "Pod", "Secret"`,
        },
      ]);
    const uid = await boundUid(kind, namespace, str(ref.name));
    if (ref.uid && ref.uid !== uid)
      throw new ApiError(
        409,
        'Conflict',
        `the UID in the bound object reference (${str(ref.uid)}) does not match the UID in record. The object might have been deleted and then recreated`,
      );
    bound = { kind, name: str(ref.name), uid };
  }
  const token = signServiceAccountToken(key, {
    namespace,
    name,
    uid: str(sa.metadata?.uid),
    audiences,
    ttlSeconds: seconds,
    ...(bound ? { bound } : {}),
  });
  const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as {
    aud: string[];
    exp: number;
  };
  return {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    metadata: { name, namespace, creationTimestamp: null },
    spec: {
      ...spec,
      audiences: claims.aud,
      expirationSeconds: seconds,
      ...(bound ? { boundObjectRef: { ...ref, uid: bound.uid } } : {}),
    },
    status: {
      token,
      expirationTimestamp: metaTime(claims.exp * 1000),
    },
  };
}
