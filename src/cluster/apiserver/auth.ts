/**
 * Authentication. A request is authenticated by, in order: a CA-signed client certificate
 * (user = CN, groups = O; nodes are `system:node:NAME` in `system:nodes`), the admin bearer token, a control-plane component's token (on the
 * local socket), the node join token (a bootstrapper: it only joins), or a ServiceAccount JWT (see service-account-token.ts)
 * whose ServiceAccount, and bound Pod or Secret, still exist with the uids it names. Anything
 * else is unauthenticated and gets 401. What a user may do is the authorizer's business
 * (authz/).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { UserInfo } from './authz/attributes.js';
import { defaultIssuer, verifyServiceAccountToken } from './service-account-token.js';

export type { UserInfo } from './authz/attributes.js';

/** The uid of a stored object, or undefined if there is none. */
export type UidLookup = (
  kind: 'ServiceAccount' | 'Pod' | 'Secret',
  namespace: string,
  name: string,
) => Promise<string | undefined>;

/** A token's user, and the audiences it was accepted for. */
export interface TokenIdentity {
  user: UserInfo;
  audiences: string[];
}

/** Authenticates a request; `byToken` checks a bare bearer token (for TokenReview). */
export type Authenticator = ((
  req: IncomingMessage,
) => Promise<UserInfo | undefined> | UserInfo | undefined) & {
  byToken(
    token: string,
    audiences?: string[],
  ): Promise<TokenIdentity | undefined> | TokenIdentity | undefined;
};

/** Compares two secrets in constant time. */
export const same = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * The user of a verified client certificate, if the request came with one. The chain was
 * verified at the handshake; the validity period is checked again for every request, as
 * upstream's x509 authenticator does, so a certificate that expires while its keep-alive
 * connection stays open stops authenticating (a rotating node opens new connections).
 */
function certificateUser(req: IncomingMessage): UserInfo | undefined {
  const sock = req.socket as TLSSocket;
  if (!sock.authorized || typeof sock.getPeerCertificate !== 'function') return undefined;
  const c = peerOf(sock);
  if (!c) return undefined;
  const now = Date.now();
  if (!(c.validFrom <= now && now < c.validTo)) return undefined;
  // A copy: callers may add to the user they are given (impersonation, audit).
  return { ...c.user, groups: [...c.user.groups] };
}

/**
 * What a connection's verified certificate says, read once per connection: the certificate
 * cannot change while the connection lasts, and getPeerCertificate() builds a new object
 * from the raw certificate on every call (over a millisecond per request for a busy agent).
 */
const peers = new WeakMap<TLSSocket, { user: UserInfo; validFrom: number; validTo: number } | null>();

function peerOf(sock: TLSSocket): { user: UserInfo; validFrom: number; validTo: number } | undefined {
  let c = peers.get(sock);
  if (c === undefined) {
    const cert = sock.getPeerCertificate();
    const cn = cert?.subject?.CN;
    const o = cert?.subject?.O;
    const groups = Array.isArray(o) ? o : o ? [o] : [];
    c = cn
      ? {
          user: {
            name: Array.isArray(cn) ? (cn[0] as string) : cn,
            groups: [...groups, 'system:authenticated'],
          },
          validFrom: Date.parse(cert.valid_from),
          validTo: Date.parse(cert.valid_to),
        }
      : null;
    peers.set(sock, c);
  }
  return c ?? undefined;
}

export interface AuthenticatorOptions {
  adminToken: string;
  nodeToken: string;
  saPub: string;
  /** Tokens of the control plane's own components (and the embedded node agent's), each its own user; read at each request, so tokens added later count. */
  componentTokens?: Map<string, UserInfo>;
  /** Looks objects up for bound-token checks; without it, ServiceAccount tokens are refused. */
  uidOf?: UidLookup;
  issuer?: string;
  /** The audiences this API server accepts; default the issuer. */
  audiences?: string[];
}

export function authenticator(o: AuthenticatorOptions): Authenticator {
  const apiAudiences = o.audiences ?? [o.issuer ?? defaultIssuer];
  const byToken = async (token: string, wanted?: string[]): Promise<TokenIdentity | undefined> => {
    const audiences = wanted?.length ? wanted : apiAudiences;
    // Static tokens are the API server's own: valid for its audiences only.
    const staticUser = (): UserInfo | undefined => {
      if (same(token, o.adminToken))
        return { name: 'admin', groups: ['system:masters', 'system:authenticated'] };
      // A map lookup, as upstream's token file authenticator does: comparing the token with
      // each of the forty-odd component tokens in turn cost every request of theirs.
      const component = o.componentTokens?.get(token);
      if (component) return component;
      // The join secret only joins (node-join.ts): each node then has its own certificate.
      if (same(token, o.nodeToken))
        return { name: 'system:bootstrap:berth', groups: ['system:bootstrappers', 'system:authenticated'] };
      return undefined;
    };
    const su = staticUser();
    if (su) {
      const ok = audiences.filter((a) => apiAudiences.includes(a));
      return ok.length ? { user: su, audiences: ok } : undefined;
    }
    if (!o.uidOf) return undefined;
    const v = verifyServiceAccountToken(token, o.saPub, {
      ...(o.issuer ? { issuer: o.issuer } : {}),
      audiences,
    });
    if (!v) return undefined;
    const k = v.claims['kubernetes.io'];
    if ((await o.uidOf('ServiceAccount', k.namespace, k.serviceaccount.name)) !== k.serviceaccount.uid)
      return undefined;
    const extra: Record<string, string[]> = {};
    if (k.pod) {
      if ((await o.uidOf('Pod', k.namespace, k.pod.name)) !== k.pod.uid) return undefined;
      extra['authentication.kubernetes.io/pod-name'] = [k.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [k.pod.uid];
    }
    if (k.secret && (await o.uidOf('Secret', k.namespace, k.secret.name)) !== k.secret.uid) return undefined;
    return {
      user: {
        name: v.claims.sub,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'],
        ...(Object.keys(extra).length ? { extra } : {}),
      },
      audiences: v.audiences,
    };
  };
  const fromRequest = async (req: IncomingMessage): Promise<UserInfo | undefined> => {
    const cert = certificateUser(req);
    if (cert) return cert;
    const h = req.headers.authorization;
    if (!h?.startsWith('Bearer ')) return undefined;
    return (await byToken(h.slice(7).trim()))?.user;
  };
  return Object.assign(fromRequest, { byToken });
}
