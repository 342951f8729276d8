/**
 * Value transformers for data at rest, in Kubernetes' stored format, so a value written here
 * reads as kube-apiserver would read it and back:
 * - aesgcm: `k8s:enc:aesgcm:v1:<key>:` + 12-byte nonce + ciphertext + 16-byte tag, with the
 *   storage key as additional authenticated data (a value moved to another key does not read);
 * - aescbc: `k8s:enc:aescbc:v1:<key>:` + 16-byte IV + ciphertext (PKCS#7 padding);
 * - identity: the plain value.
 * The first provider's first key writes; every provider and key reads. The store holds
 * strings, so the bytes after the prefix are carried as Latin-1 characters (one per byte).
 */
import { type CipherGCMTypes, createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { internal } from '../../../core/errors.js';
import { type CipherName, cipherOf, type ProviderConfig } from './encryption-config.js';

/** Encrypts values for the store and decrypts what it reads. */
export interface ValueTransformer {
  /** The value to store for `plain` at `storageKey`. */
  toStorage(plain: string, storageKey: string): string;
  /** The plain value of a stored one. Throws Internal when no listed key can read it. */
  fromStorage(stored: string, storageKey: string): string;
  /** Which key a stored value is written with: `aescbc:NAME`, `aesgcm:NAME` or `identity`. */
  keyOf(stored: string): string;
  /** The key new writes use (`identity` when the first provider is identity). */
  readonly activeKey: string;
}

interface Key {
  id: string;
  prefix: string;
  cipher: CipherName;
  secret: Buffer;
}

const encPrefix = 'k8s:enc:';

/** `cipher:name` from a stored value's `k8s:enc:<cipher>:v1:<name>:` prefix. */
function idOf(stored: string): string {
  const m = /^k8s:enc:([^:]*):v1:([^:]*):/.exec(stored.slice(0, 300));
  return m ? `${m[1]}:${m[2]}` : 'an unknown prefix';
}

function seal(k: Key, plain: string, aad: string): string {
  const data = Buffer.from(plain, 'utf8');
  let out: Buffer;
  if (k.cipher === 'aesgcm') {
    const nonce = randomBytes(12);
    const c = createCipheriv(`aes-${k.secret.length * 8}-gcm` as CipherGCMTypes, k.secret, nonce);
    c.setAAD(Buffer.from(aad, 'utf8'));
    out = Buffer.concat([nonce, c.update(data), c.final(), c.getAuthTag()]);
  } else {
    const iv = randomBytes(16);
    const c = createCipheriv(`aes-${k.secret.length * 8}-cbc`, k.secret, iv);
    out = Buffer.concat([iv, c.update(data), c.final()]);
  }
  return k.prefix + out.toString('latin1');
}

function open(k: Key, stored: string, aad: string): string {
  const raw = Buffer.from(stored.slice(k.prefix.length), 'latin1');
  if (k.cipher === 'aesgcm') {
    if (raw.length < 28) throw new Error('the value is too short for AES-GCM');
    const d = createDecipheriv(
      `aes-${k.secret.length * 8}-gcm` as CipherGCMTypes,
      k.secret,
      raw.subarray(0, 12),
    );
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
  }
  if (raw.length < 32 || raw.length % 16)
    throw new Error('the value is not a whole number of AES-CBC blocks');
  const d = createDecipheriv(`aes-${k.secret.length * 8}-cbc`, k.secret, raw.subarray(0, 16));
  return Buffer.concat([d.update(raw.subarray(16)), d.final()]).toString('utf8');
}

/** The transformer for one resource entry's providers, in order. */
export function transformerFor(providers: readonly ProviderConfig[]): ValueTransformer {
  const keys: Key[] = [];
  let identity = false;
  let writer: Key | 'identity' | undefined;
  for (const p of providers) {
    const c = cipherOf(p);
    if (!c) {
      identity = true;
      writer ??= 'identity';
      continue;
    }
    for (const k of c.keys) {
      const key: Key = {
        id: `${c.cipher}:${k.name}`,
        prefix: `${encPrefix}${c.cipher}:v1:${k.name}:`,
        cipher: c.cipher,
        secret: Buffer.from(k.secret, 'base64'),
      };
      keys.push(key);
      writer ??= key;
    }
  }
  const find = (stored: string) =>
    stored.startsWith(encPrefix) ? keys.find((k) => stored.startsWith(k.prefix)) : undefined;
  const active = writer ?? 'identity';
  return {
    activeKey: active === 'identity' ? 'identity' : active.id,
    toStorage: (plain, storageKey) => (active === 'identity' ? plain : seal(active, plain, storageKey)),
    fromStorage(stored, storageKey) {
      const k = find(stored);
      if (!k) {
        if (!stored.startsWith(encPrefix) && identity) return stored;
        const what = stored.startsWith(encPrefix)
          ? `key ${idOf(stored)}`
          : 'no encryption (identity is not a listed provider)';
        throw internal(
          `Cannot decrypt ${storageKey}: it is stored with ${what}, which the encryption configuration does not list`,
        );
      }
      try {
        return open(k, stored, storageKey);
      } catch (e) {
        throw internal(`Cannot decrypt ${storageKey} with key ${k.id}: ${(e as Error).message}`, e);
      }
    },
    keyOf: (stored) => find(stored)?.id ?? (stored.startsWith(encPrefix) ? idOf(stored) : 'identity'),
  };
}
