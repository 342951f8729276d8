/**
 * imagePullSecrets: registry credentials from the pod's `kubernetes.io/dockerconfigjson`
 * (and legacy `kubernetes.io/dockercfg`) Secrets, and the pick for one image (the kubelet's
 * credentialprovider keyring: the entry whose registry matches the image's host).
 */
import { logger } from '../../core/log.js';
import { parseReference } from '../../engine/image/reference.js';
import type { KubeObject } from '../client/kube-client.js';
import type { ObjectSource } from './container-config.js';

const log = logger('agent');

/** One registry's credentials from a pull secret. */
export interface PullCredential {
  /** The key as the secret spells it (`registry.example:5000`, `https://index.docker.io/v1/`). */
  registry: string;
  username: string;
  password: string;
}

type AuthEntry = { auth?: string; username?: string; password?: string };

function entries(secret: KubeObject): Record<string, AuthEntry> {
  const data = ((secret as { data?: Record<string, string> }).data ?? {}) as Record<string, string>;
  const text = (k: string) => (data[k] ? Buffer.from(data[k], 'base64').toString('utf8') : undefined);
  try {
    const json = text('.dockerconfigjson');
    if (json !== undefined) return (JSON.parse(json) as { auths?: Record<string, AuthEntry> }).auths ?? {};
    const legacy = text('.dockercfg');
    if (legacy !== undefined) return JSON.parse(legacy) as Record<string, AuthEntry>;
  } catch (e) {
    log.warn('a pull secret is not valid JSON', { secret: secret.metadata.name, err: e as Error });
  }
  return {};
}

/**
 * The credentials of the pod's imagePullSecrets, in order. A missing secret is skipped (the
 * pull may still work without it), as the kubelet does.
 */
export async function pullCredentials(pod: KubeObject, source: ObjectSource): Promise<PullCredential[]> {
  const out: PullCredential[] = [];
  const ns = pod.metadata.namespace ?? 'default';
  for (const ref of (pod.spec?.imagePullSecrets ?? []) as { name?: string }[]) {
    if (!ref.name) continue;
    const secret = await source.secret(ns, ref.name);
    if (!secret) {
      log.warn('an imagePullSecret is missing; pulling without it', { namespace: ns, secret: ref.name });
      continue;
    }
    for (const [registry, e] of Object.entries(entries(secret))) {
      let { username = '', password = '' } = e;
      if (e.auth) {
        const plain = Buffer.from(e.auth, 'base64').toString('utf8');
        const i = plain.indexOf(':');
        if (i > 0) [username, password] = [plain.slice(0, i), plain.slice(i + 1)];
      }
      if (username) out.push({ registry, username, password });
    }
  }
  return out;
}

/** The host a secret's key names: `https://r:5000/v1/` -> `r:5000`; Docker Hub's keys -> `docker.io`. */
function hostOf(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//, '').split('/')[0] ?? '';
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

/** The first credential for the registry of `image`, if any. */
export function credentialFor(image: string, creds: readonly PullCredential[]): PullCredential | undefined {
  let domain: string;
  try {
    domain = parseReference(image).domain;
  } catch {
    // The engine names the bad reference when it is asked to pull it.
    return undefined;
  }
  return creds.find((c) => hostOf(c.registry) === domain);
}
