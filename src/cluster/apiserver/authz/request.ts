/**
 * From an HTTP request to what the authorizer judges: the attributes (after upstream's
 * RequestInfoFactory: verb from the method and watch/list/deletecollection, API group,
 * resource, subresource, namespace, name; or the path of a non-resource URL), and the user
 * after impersonation (`kubectl --as`, `--as-group`), which itself needs the `impersonate` verb.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { badRequest } from '../../api/status.js';
import {
  type Attributes,
  type Authorizer,
  forbidden,
  pathAttributes,
  resourceAttributes,
  type UserInfo,
} from './attributes.js';

/** Namespace paths whose third segment is the namespace's own subresource. */
const namespaceSubresources = new Set(['status', 'finalize']);

/** The attributes of a request; `segments` are the decoded path segments. */
export function requestAttributes(
  user: UserInfo,
  method: string,
  path: string,
  segments: string[],
  query: URLSearchParams,
): Attributes {
  const m = method.toUpperCase();
  const nonResource = () => pathAttributes(user, m.toLowerCase(), path);
  let parts: string[];
  let apiGroup = '';
  if (segments[0] === 'api' && segments.length >= 3) parts = segments.slice(2);
  else if (segments[0] === 'apis' && segments.length >= 4) {
    apiGroup = segments[1] as string;
    parts = segments.slice(3);
  } else return nonResource();
  let watchPath = false;
  if (parts[0] === 'watch') {
    watchPath = true;
    parts = parts.slice(1);
    if (parts.length === 0) return nonResource();
  }
  let namespace = '';
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1] as string;
    if (parts.length > 2 && !namespaceSubresources.has(parts[2] as string)) parts = parts.slice(2);
  }
  const resource = parts[0] ?? '';
  let name = parts[1] ?? '';
  const subresource = parts[2] ?? '';
  let verb: string;
  switch (m) {
    case 'GET':
    case 'HEAD': {
      const watch = watchPath || query.get('watch') === 'true' || query.get('watch') === '1';
      verb = watch ? 'watch' : name ? 'get' : 'list';
      if (!name && (verb === 'list' || verb === 'watch')) {
        // A list or watch of one object by name is judged as that object (upstream does the same).
        const field = /(?:^|,)metadata\.name==?([^,]+)/.exec(query.get('fieldSelector') ?? '');
        if (field?.[1]) name = field[1];
      }
      break;
    }
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name ? 'delete' : 'deletecollection';
      break;
    default:
      verb = m.toLowerCase();
  }
  const attrs = resourceAttributes(user, verb, { apiGroup, resource, subresource, namespace, name });
  const fieldSelector = query.get('fieldSelector');
  if (fieldSelector && (verb === 'list' || verb === 'watch')) attrs.fieldSelector = fieldSelector;
  return attrs;
}

const headerList = (h: string | string[] | undefined): string[] =>
  h === undefined ? [] : Array.isArray(h) ? h : [h];

/**
 * The user a request acts as: `user` itself, or the one its Impersonate-* headers name, if
 * `user` may impersonate that user, each group and each extra. Throws 403 otherwise.
 */
export function impersonate(user: UserInfo, headers: IncomingHttpHeaders, authz: Authorizer): UserInfo {
  const as = headerList(headers['impersonate-user'])[0];
  const groups = headerList(headers['impersonate-group']);
  const uid = headerList(headers['impersonate-uid'])[0];
  const extraKeys = Object.keys(headers).filter((k) => k.startsWith('impersonate-extra-'));
  if (as === undefined) {
    if (groups.length || uid !== undefined || extraKeys.length)
      throw badRequest('requested impersonation of groups, a uid or extras without impersonating a user');
    return user;
  }
  const check = (a: Attributes) => {
    if (authz.authorize(a).decision !== 'allow') throw forbidden(a);
  };
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(as);
  check(
    sa
      ? resourceAttributes(user, 'impersonate', {
          resource: 'serviceaccounts',
          namespace: sa[1] as string,
          name: sa[2] as string,
        })
      : resourceAttributes(user, 'impersonate', { resource: 'users', name: as }),
  );
  for (const g of groups) check(resourceAttributes(user, 'impersonate', { resource: 'groups', name: g }));
  if (uid !== undefined)
    check(
      resourceAttributes(user, 'impersonate', {
        apiGroup: 'authentication.k8s.io',
        resource: 'uids',
        name: uid,
      }),
    );
  const extra: Record<string, string[]> = {};
  for (const k of extraKeys) {
    const key = decodeURIComponent(k.slice('impersonate-extra-'.length));
    const values = headerList(headers[k]);
    for (const v of values)
      check(
        resourceAttributes(user, 'impersonate', {
          apiGroup: 'authentication.k8s.io',
          resource: 'userextras',
          subresource: key,
          name: v,
        }),
      );
    extra[key] = values;
  }
  // The groups an identity of that kind always has, as upstream adds them.
  const implied =
    as === 'system:anonymous'
      ? ['system:unauthenticated']
      : sa
        ? ['system:serviceaccounts', `system:serviceaccounts:${sa[1]}`, 'system:authenticated']
        : ['system:authenticated'];
  return {
    name: as,
    groups: [...new Set([...groups, ...implied])],
    ...(Object.keys(extra).length ? { extra } : {}),
  };
}
