/**
 * `berth secrets-encrypt status|rotate`, on the server side. Status counts the Secrets stored
 * with each key. Rotation is three steps, each safe to stop after (a crash, a kill):
 * 1. a new key goes first in the configuration file, the old keys stay after it: new writes
 *    use the new key, everything stored still reads;
 * 2. every Secret not yet under the new key is written again (compare-and-set on its
 *    revision, read again and retried on a conflict), until none is left;
 * 3. only then are the old keys dropped from the file.
 * A rotation stopped after step 1 or 2 leaves a file that reads everything; running rotate
 * again finishes the job with a newer key.
 */
import { conflict, failedPrecondition, isConflict, isNotFound } from '../../../core/errors.js';
import { type EncryptedStore, encryptionRules, resourceKeyPrefix } from './encrypted-store.js';
import {
  cipherOf,
  type EncryptionConfiguration,
  newKey,
  readEncryptionConfig,
  writeEncryptionConfig,
} from './encryption-config.js';

export interface EncryptionStatus {
  enabled: boolean;
  /** The configuration file, when encryption is configured. */
  configPath?: string;
  /** The key new Secrets are written with (`aescbc:NAME`, `aesgcm:NAME`, `identity`). */
  activeKey?: string;
  /** Every key the configuration lists for Secrets, the active one first. */
  keys: string[];
  /** How many Secrets are stored with each key. */
  secrets: Record<string, number>;
}

export interface RotationReport extends EncryptionStatus {
  /** The Secrets written again under the new key. */
  rewritten: number;
}

const secretsPrefix = resourceKeyPrefix('secrets');
const maxPasses = 5;

export class SecretsEncryption {
  private rotating = false;

  constructor(
    private readonly store: EncryptedStore | undefined,
    private readonly configPath: string | undefined,
    /** Whether the file is berth's own (from --secrets-encryption), which rotate may rewrite. */
    private readonly managed: boolean,
  ) {}

  async status(): Promise<EncryptionStatus> {
    const t = this.store?.transformerFor(secretsPrefix);
    if (!this.store || !t || !this.configPath) return { enabled: false, keys: [], secrets: {} };
    const secrets: Record<string, number> = {};
    for (const kv of (await this.store.inner.list(secretsPrefix)).items) {
      const k = t.keyOf(kv.value);
      secrets[k] = (secrets[k] ?? 0) + 1;
    }
    const entry = secretsEntry(readEncryptionConfig(this.configPath));
    const keys = entry.providers.flatMap((p) => {
      const c = cipherOf(p);
      return c ? c.keys.map((k) => `${c.cipher}:${k.name}`) : ['identity'];
    });
    return {
      enabled: t.activeKey !== 'identity',
      configPath: this.configPath,
      activeKey: t.activeKey,
      keys,
      secrets,
    };
  }

  async rotate(): Promise<RotationReport> {
    if (!this.store || !this.configPath)
      throw failedPrecondition('Secrets encryption is off: start the server with --secrets-encryption first');
    if (!this.managed)
      throw failedPrecondition(
        `The encryption configuration ${this.configPath} was given with --encryption-provider-config: rotate its keys by editing it (add a key first, restart, rewrite the Secrets, then drop the old key)`,
      );
    if (this.rotating) throw conflict('A key rotation is already running');
    this.rotating = true;
    try {
      const config = readEncryptionConfig(this.configPath);
      const first = secretsEntry(config).providers[0];
      const cipher = first && cipherOf(first);
      if (!first || !cipher)
        throw failedPrecondition(`The first provider for Secrets in ${this.configPath} is not a cipher`);
      const key = newKey(cipher.cipher);
      cipher.keys.unshift(key);
      await this.apply(config);
      const rewritten = await this.rewriteAll(`${cipher.cipher}:${key.name}`);
      cipher.keys.splice(1);
      await this.apply(config);
      return { ...(await this.status()), rewritten };
    } finally {
      this.rotating = false;
    }
  }

  private async apply(config: EncryptionConfiguration): Promise<void> {
    await writeEncryptionConfig(this.configPath as string, config);
    this.store?.setRules(encryptionRules(config));
  }

  /** Writes every Secret not under `active` again, until a full pass finds none. */
  private async rewriteAll(active: string): Promise<number> {
    const store = this.store as EncryptedStore;
    const t = () => store.transformerFor(secretsPrefix);
    let rewritten = 0;
    // Only a writer still using an old key (another server on the same etcd) keeps a pass from
    // coming out clean: stop then, with every key still listed.
    for (let pass = 1; ; pass++) {
      const stale = (await store.inner.list(secretsPrefix)).items.filter(
        (kv) => t()?.keyOf(kv.value) !== active,
      );
      if (!stale.length) return rewritten;
      if (pass > maxPasses)
        throw failedPrecondition(
          `${stale.length} Secrets are still written with an old key after ${maxPasses} passes (is another server using ${this.configPath}?); every key stays listed, run rotate again`,
        );
      for (const kv of stale) if (await this.rewrite(kv.key, active)) rewritten++;
    }
  }

  /** One Secret written again with the active key; false if it went meanwhile. */
  private async rewrite(key: string, active: string): Promise<boolean> {
    const store = this.store as EncryptedStore;
    for (;;) {
      const raw = await store.inner.get(key);
      if (!raw) return false;
      if (store.transformerFor(key)?.keyOf(raw.value) === active) return true;
      const plain = await store.get(key);
      if (!plain || plain.modRevision !== raw.modRevision) continue;
      try {
        await store.update(key, plain.value, raw.modRevision);
        return true;
      } catch (e) {
        if (isNotFound(e)) return false;
        if (!isConflict(e)) throw e;
      }
    }
  }
}

/** The configuration entry that covers Secrets. */
function secretsEntry(config: EncryptionConfiguration) {
  const entry = config.resources.find((r) =>
    r.resources.some((name) => secretsPrefix.startsWith(resourceKeyPrefix(name))),
  );
  if (!entry) throw failedPrecondition('The encryption configuration does not cover Secrets');
  return entry;
}
