/**
 * ServiceAccount tokens: RS256 JWTs signed with DATA/tls/service-account.key, carrying the
 * issuer, audiences, lifetime and the ServiceAccount (and the Pod or Secret a token is bound
 * to) with their uids, as upstream's TokenRequest issues them. Verification checks the
 * signature, `iss`, `aud`, `nbf` and `exp`; the caller checks that the objects still exist.
 * The public key is published for OIDC discovery (`/openid/v1/jwks`).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSign,
  createVerify,
  type KeyObject,
} from 'node:crypto';

/** The issuer Berth's tokens name, and the audience the API server accepts by default. */
export const defaultIssuer = 'https://kubernetes.default.svc';

export interface BoundObject {
  kind: 'Pod' | 'Secret';
  name: string;
  uid: string;
}

export interface TokenRequestOptions {
  namespace: string;
  name: string;
  uid: string;
  audiences?: string[];
  ttlSeconds?: number;
  bound?: BoundObject;
  issuer?: string;
  /** Seconds since the epoch; default now. */
  now?: number;
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  iat: number;
  nbf: number;
  exp: number;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
    secret?: { name: string; uid: string };
  };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** The key id upstream uses: the SHA-256 of the public key's DER, base64url. */
export function keyId(publicOrPrivateKey: string): string {
  const der = createPublicKey(publicOrPrivateKey).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64url');
}

/**
 * The parsed signing key and its id, by PEM text. Every pod's projected token is signed here,
 * and parsing the PEM and deriving the id took more than the signature itself; a server has
 * one key (two across a rotation), so the map stays tiny.
 */
const signers = new Map<string, { key: KeyObject; kid: string }>();

function signerOf(pem: string): { key: KeyObject; kid: string } {
  let s = signers.get(pem);
  if (!s) {
    if (signers.size >= 4) signers.clear();
    s = { key: createPrivateKey(pem), kid: keyId(pem) };
    signers.set(pem, s);
  }
  return s;
}

/** Issues a ServiceAccount token. */
export function signServiceAccountToken(key: string, o: TokenRequestOptions): string {
  const now = o.now ?? Math.floor(Date.now() / 1000);
  const claims: TokenClaims = {
    iss: o.issuer ?? defaultIssuer,
    sub: `system:serviceaccount:${o.namespace}:${o.name}`,
    aud: o.audiences?.length ? o.audiences : [defaultIssuer],
    iat: now,
    nbf: now,
    exp: now + (o.ttlSeconds ?? 3600),
    'kubernetes.io': {
      namespace: o.namespace,
      serviceaccount: { name: o.name, uid: o.uid },
      ...(o.bound?.kind === 'Pod' ? { pod: { name: o.bound.name, uid: o.bound.uid } } : {}),
      ...(o.bound?.kind === 'Secret' ? { secret: { name: o.bound.name, uid: o.bound.uid } } : {}),
    },
  };
  const signer = signerOf(key);
  const header = b64url(JSON.stringify({ alg: 'RS256', kid: signer.kid }));
  const payload = b64url(JSON.stringify(claims));
  const s = createSign('RSA-SHA256');
  s.update(`${header}.${payload}`);
  return `${header}.${payload}.${s.sign(signer.key).toString('base64url')}`;
}

/** Clock skew allowed on `nbf` and `exp`, as upstream's validator allows. */
const leewaySeconds = 60;

/**
 * The claims of a token this issuer signed, if it is valid now for one of `audiences`;
 * otherwise undefined (the request is then unauthenticated, as upstream answers).
 */
export function verifyServiceAccountToken(
  token: string,
  pub: string,
  o: { issuer?: string; audiences: string[]; now?: number },
): { claims: TokenClaims; audiences: string[] } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, sig] = parts as [string, string, string];
  let header: { alg?: string };
  let claims: TokenClaims;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string };
    if (header.alg !== 'RS256') return undefined;
    const v = createVerify('RSA-SHA256');
    v.update(`${h}.${p}`);
    if (!v.verify(pub, Buffer.from(sig, 'base64url'))) return undefined;
    claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as TokenClaims;
  } catch (e) {
    // Not a JWT at all (another kind of bearer token): not ours to accept.
    if (e instanceof SyntaxError || e instanceof TypeError) return undefined;
    throw e;
  }
  const now = o.now ?? Math.floor(Date.now() / 1000);
  if (claims.iss !== (o.issuer ?? defaultIssuer)) return undefined;
  if (typeof claims.exp !== 'number' || claims.exp + leewaySeconds < now) return undefined;
  if (typeof claims.nbf === 'number' && claims.nbf - leewaySeconds > now) return undefined;
  const aud = Array.isArray(claims.aud) ? claims.aud : typeof claims.aud === 'string' ? [claims.aud] : [];
  const audiences = aud.filter((a) => o.audiences.includes(a));
  if (!audiences.length) return undefined;
  const k = claims['kubernetes.io'];
  if (
    !k?.namespace ||
    !k.serviceaccount?.name ||
    claims.sub !== `system:serviceaccount:${k.namespace}:${k.serviceaccount.name}`
  )
    return undefined;
  return { claims, audiences };
}

/** The OIDC discovery document (`/.well-known/openid-configuration`). */
export function openidConfiguration(issuer = defaultIssuer): object {
  return {
    issuer,
    jwks_uri: `${issuer}/openid/v1/jwks`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  };
}

/** The key set that verifies the tokens (`/openid/v1/jwks`). */
export function jwks(pub: string): object {
  const jwk = createPublicKey(pub).export({ format: 'jwk' });
  return { keys: [{ use: 'sig', kty: jwk.kty, kid: keyId(pub), alg: 'RS256', n: jwk.n, e: jwk.e }] };
}
