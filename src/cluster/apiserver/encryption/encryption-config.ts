/**
 * Kubernetes' EncryptionConfiguration (apiserver.config.k8s.io/v1): which resources are
 * encrypted at rest and with which providers. Read from `--encryption-provider-config FILE`
 * (YAML or JSON), or made by `--secrets-encryption` under DATA_DIR/cred, as k3s makes
 * `server/cred/encryption-config.json`. Only the aesgcm, aescbc and identity providers exist here.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { writeFileAtomic, writeFileAtomicSync } from '../../../core/atomic-file.js';
import { invalidArgument } from '../../../core/errors.js';

export interface EncryptionKey {
  name: string;
  /** Base64 of 16, 24 or 32 random bytes (AES-128/192/256). */
  secret: string;
}

/** The cipher providers; `identity` stores values as they are. */
export type CipherName = 'aesgcm' | 'aescbc';

export type ProviderConfig =
  | { aesgcm: { keys: EncryptionKey[] } }
  | { aescbc: { keys: EncryptionKey[] } }
  | { identity: Record<string, never> };

export interface ResourceEncryption {
  /** `secrets`, `configmaps`, `deployments.apps`, `*.apps`, `*.*`. */
  resources: string[];
  /** The first provider writes; every provider (and each of its keys) reads. */
  providers: ProviderConfig[];
}

export interface EncryptionConfiguration {
  kind: 'EncryptionConfiguration';
  apiVersion: 'apiserver.config.k8s.io/v1';
  resources: ResourceEncryption[];
}

/** Where `--secrets-encryption` keeps its configuration (0600, in the 0700 cred folder). */
export const generatedConfigPath = (dataDir: string) => join(dataDir, 'cred', 'encryption-config.json');

const cipherNames: readonly CipherName[] = ['aesgcm', 'aescbc'];

/** The cipher and keys of a provider entry, or undefined for identity. */
export function cipherOf(p: ProviderConfig): { cipher: CipherName; keys: EncryptionKey[] } | undefined {
  for (const c of cipherNames)
    if (c in p) return { cipher: c, keys: (p as Record<CipherName, { keys: EncryptionKey[] }>)[c].keys };
  return undefined;
}

/** A new random AES-256 key named after the time, as k3s names its keys. */
export function newKey(cipher: CipherName, now = new Date()): EncryptionKey {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return {
    name: `${cipher}key-${stamp}-${randomBytes(3).toString('hex')}`,
    secret: randomBytes(32).toString('base64'),
  };
}

/** Checks a parsed configuration and says which field of which file is wrong. */
export function parseEncryptionConfig(text: string, source: string): EncryptionConfiguration {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw invalidArgument(
      `Invalid encryption configuration ${source}: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  const bad = (what: string) => invalidArgument(`Invalid encryption configuration ${source}: ${what}`);
  const c = doc as Partial<EncryptionConfiguration> | null;
  if (!c || typeof c !== 'object') throw bad('not an EncryptionConfiguration object');
  if (c.kind !== 'EncryptionConfiguration')
    throw bad(`kind is "${String(c.kind)}", not EncryptionConfiguration`);
  if (c.apiVersion !== 'apiserver.config.k8s.io/v1')
    throw bad(`apiVersion is "${String(c.apiVersion)}", not apiserver.config.k8s.io/v1`);
  if (!Array.isArray(c.resources) || !c.resources.length) throw bad('resources is empty');
  c.resources.forEach((r, i) => {
    if (!Array.isArray(r?.resources) || !r.resources.length) throw bad(`resources[${i}].resources is empty`);
    if (!Array.isArray(r.providers) || !r.providers.length) throw bad(`resources[${i}].providers is empty`);
    r.providers.forEach((p, j) => {
      const at = `resources[${i}].providers[${j}]`;
      const names = Object.keys(p ?? {});
      if (names.length !== 1)
        throw bad(`${at} must name exactly one provider, found ${names.join(', ') || 'none'}`);
      if (names[0] === 'identity') return;
      const cipher = cipherOf(p);
      if (!cipher)
        throw bad(`${at}: provider "${names[0]}" is not supported (use aesgcm, aescbc or identity)`);
      if (!Array.isArray(cipher.keys) || !cipher.keys.length)
        throw bad(`${at}.${cipher.cipher}.keys is empty`);
      const seen = new Set<string>();
      cipher.keys.forEach((k, n) => {
        if (!k?.name || /:/.test(k.name))
          throw bad(
            `${at}.${cipher.cipher}.keys[${n}].name "${k?.name ?? ''}" must be set and hold no colon`,
          );
        if (seen.has(k.name)) throw bad(`${at}.${cipher.cipher}.keys[${n}].name "${k.name}" is given twice`);
        seen.add(k.name);
        const len = Buffer.from(String(k.secret ?? ''), 'base64').length;
        if (![16, 24, 32].includes(len))
          throw bad(
            `${at}.${cipher.cipher}.keys[${n}] ("${k.name}") secret is ${len} bytes, must be base64 of 16, 24 or 32`,
          );
      });
    });
  });
  return c as EncryptionConfiguration;
}

export function readEncryptionConfig(path: string): EncryptionConfiguration {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw invalidArgument(`Cannot read encryption configuration ${path}: ${(e as Error).message}`);
  }
  return parseEncryptionConfig(text, path);
}

/** Writes a configuration atomically, readable by root only. */
export async function writeEncryptionConfig(path: string, c: EncryptionConfiguration): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
}

/**
 * The configuration `--secrets-encryption` uses: the one under DATA_DIR/cred when there is
 * one (its keys are the data's), otherwise a new one with one random key for Secrets, and
 * identity after it so Secrets written before encryption was on still read.
 */
export function ensureGeneratedConfig(dataDir: string, cipher: CipherName): string {
  const path = generatedConfigPath(dataDir);
  if (existsSync(path)) return path;
  mkdirSync(join(dataDir, 'cred'), { recursive: true, mode: 0o700 });
  const key = newKey(cipher);
  const config: EncryptionConfiguration = {
    kind: 'EncryptionConfiguration',
    apiVersion: 'apiserver.config.k8s.io/v1',
    resources: [
      {
        resources: ['secrets'],
        providers: [
          cipher === 'aesgcm' ? { aesgcm: { keys: [key] } } : { aescbc: { keys: [key] } },
          { identity: {} },
        ],
      },
    ],
  };
  writeFileAtomicSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return path;
}
