/**
 * Authentication and the authorization seam. A request is authenticated by, in order: a
 * CA-signed client certificate (user = CN, groups = O), the admin bearer token, the node
 * join token, or a ServiceAccount JWT (RS256, signed by DATA/tls/service-account.key).
 * Anything else is anonymous and gets 401. Authorization is allow-all for authenticated
 * users for now; RBAC plugs in behind {@link Authorizer}.
 */
import { createSign, createVerify, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** Who made a request. */
export interface UserInfo {
  name: string;
  groups: string[];
}

/** What a request wants to do, for the authorizer. */
export interface RequestAttributes {
  user: UserInfo;
  verb: string;
  group?: string;
  resource?: string;
  namespace?: string;
  name?: string;
  path: string;
}

/** The authorization seam: return a reason to deny, or undefined to allow. */
export type Authorizer = (attrs: RequestAttributes) => string | undefined;

/** Allows every authenticated request. */
export const allowAll: Authorizer = () => undefined;

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** Issues a ServiceAccount token (a JWT) for `namespace/name`. */
export function signServiceAccountToken(
  key: string,
  namespace: string,
  name: string,
  uid: string,
  ttlSeconds = 3600 * 24 * 365,
): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const payload = b64url(
    JSON.stringify({
      iss: 'https://kubernetes.default.svc',
      sub: `system:serviceaccount:${namespace}:${name}`,
      aud: ['https://kubernetes.default.svc'],
      iat: now,
      nbf: now,
      exp: now + ttlSeconds,
      'kubernetes.io': { namespace, serviceaccount: { name, uid } },
    }),
  );
  const s = createSign('RSA-SHA256');
  s.update(`${header}.${payload}`);
  return `${header}.${payload}.${s.sign(key).toString('base64url')}`;
}

function verifyJwt(token: string, pub: string): UserInfo | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, sig] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string };
    if (header.alg !== 'RS256') return undefined;
    const v = createVerify('RSA-SHA256');
    v.update(`${h}.${p}`);
    if (!v.verify(pub, Buffer.from(sig, 'base64url'))) return undefined;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { sub?: string; exp?: number };
    if (claims.exp && claims.exp * 1000 < Date.now()) return undefined;
    const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub ?? '');
    if (!m) return undefined;
    return {
      name: claims.sub as string,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${m[1]}`, 'system:authenticated'],
    };
  } catch {
    return undefined;
  }
}

const same = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** Makes the authenticator for one cluster's tokens and keys. */
/** Authenticates a request; `byToken` checks a bare bearer token (for TokenReview). */
export type Authenticator = ((req: IncomingMessage) => UserInfo | undefined) & {
  byToken(token: string): UserInfo | undefined;
};

export function authenticator(creds: {
  adminToken: string;
  nodeToken: string;
  saPub: string;
}): Authenticator {
  const byToken = (token: string): UserInfo | undefined => {
    if (same(token, creds.adminToken))
      return { name: 'admin', groups: ['system:masters', 'system:authenticated'] };
    if (same(token, creds.nodeToken))
      return { name: 'system:node', groups: ['system:nodes', 'system:authenticated'] };
    return verifyJwt(token, creds.saPub);
  };
  const fromRequest = (req: IncomingMessage): UserInfo | undefined => {
    const sock = req.socket as TLSSocket;
    if (sock.authorized && typeof sock.getPeerCertificate === 'function') {
      const cert = sock.getPeerCertificate();
      const cn = cert?.subject?.CN;
      if (cn) {
        const o = cert.subject.O;
        const groups = Array.isArray(o) ? o : o ? [o] : [];
        return {
          name: Array.isArray(cn) ? (cn[0] as string) : cn,
          groups: [...groups, 'system:authenticated'],
        };
      }
    }
    const h = req.headers.authorization;
    if (!h?.startsWith('Bearer ')) return undefined;
    return byToken(h.slice(7).trim());
  };
  return Object.assign(fromRequest, { byToken });
}
