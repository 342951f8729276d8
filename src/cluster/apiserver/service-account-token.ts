/**
 * ServiceAccount tokens: JWTs signed with DATA/tls/service-account.key, carrying the issuer,
 * audiences, lifetime and the ServiceAccount (and the Pod or Secret a token is bound to) with
 * their uids, as upstream's TokenRequest issues them. A new cluster's key is ECDSA P-256
 * (ES256, which kube-apiserver accepts for --service-account-signing-key-file too): every pod
 * start signs a token, and an ES256 signature costs a tenth of an RSA-2048 one. A cluster made
 * before keeps its RSA key and RS256. Verification checks the signature with the key's own
 * algorithm, `iss`, `aud`, `nbf` and `exp`; the caller checks that the objects still exist.
 * The public key is published for OIDC discovery (`/openid/v1/jwks`).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
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

/** The JWS algorithm of a key: RS256 for RSA, ES256 for ECDSA P-256; no other key signs tokens here. */
function algorithmOf(key: KeyObject): 'RS256' | 'ES256' {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  throw new Error(
    `Cannot use the service account key: its type "${key.asymmetricKeyType}${curve ? ` ${curve}` : ''}" is neither RSA nor ECDSA P-256 (prime256v1)`,
  );
}

/** A new cluster's signing key: ECDSA P-256, as PKCS#8 and SPKI PEM. */
export function newServiceAccountKey(): { key: string; pub: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    pub: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

interface ParsedKey {
  /**
   * The key as sign() and verify() take it for the JWS signature: PKCS#1 v1.5 for RS256, the
   * raw r||s pair JWS asks for ES256 (not DER).
   */
  input: KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' };
  kid: string;
  alg: 'RS256' | 'ES256';
}

/**
 * Parsed keys, their ids and algorithms, by PEM text. Every pod's projected token is signed
 * here, and parsing the PEM and deriving the id took more than the signature itself; a server
 * has one key (two across a rotation), so the maps stay tiny.
 */
const signers = new Map<string, ParsedKey>();
const verifiers = new Map<string, ParsedKey>();

function parsed(cache: Map<string, ParsedKey>, pem: string, make: (pem: string) => KeyObject): ParsedKey {
  let s = cache.get(pem);
  if (!s) {
    if (cache.size >= 4) cache.clear();
    const key = make(pem);
    const alg = algorithmOf(key);
    s = { input: alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key, kid: keyId(pem), alg };
    cache.set(pem, s);
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
  const signer = parsed(signers, key, createPrivateKey);
  const header = b64url(JSON.stringify({ alg: signer.alg, kid: signer.kid }));
  const payload = b64url(JSON.stringify(claims));
  return `${header}.${payload}.${sign('sha256', Buffer.from(`${header}.${payload}`), signer.input).toString('base64url')}`;
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
    // Only the key's own algorithm: a token naming another (`none`, HS256) is not ours.
    const verifier = parsed(verifiers, pub, createPublicKey);
    if (header.alg !== verifier.alg) return undefined;
    if (!verify('sha256', Buffer.from(`${h}.${p}`), verifier.input, Buffer.from(sig, 'base64url')))
      return undefined;
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

/** The OIDC discovery document (`/.well-known/openid-configuration`) for the signing key `pem` (private or public). */
export function openidConfiguration(pem: string, issuer = defaultIssuer): object {
  return {
    issuer,
    jwks_uri: `${issuer}/openid/v1/jwks`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [algorithmOf(createPublicKey(pem))],
  };
}

/** The key set that verifies the tokens (`/openid/v1/jwks`). */
export function jwks(pub: string): object {
  const key = createPublicKey(pub);
  const alg = algorithmOf(key);
  const jwk = key.export({ format: 'jwk' });
  const params = alg === 'ES256' ? { crv: jwk.crv, x: jwk.x, y: jwk.y } : { n: jwk.n, e: jwk.e };
  return { keys: [{ use: 'sig', kty: jwk.kty, kid: keyId(pub), alg, ...params }] };
}
