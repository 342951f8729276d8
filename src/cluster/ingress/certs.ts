/**
 * Certificates by server name: each TLS host of a served Ingress maps to a
 * `kubernetes.io/tls` Secret of the Ingress's namespace, and the handshake's SNI picks the
 * context (exact name, then `*.domain`, then the default). Contexts are made once per Secret
 * version, so a changed Secret is picked up by the next handshake and an unchanged one costs
 * nothing. Names nobody configured get a self-signed default certificate, as ingress-nginx's
 * "Kubernetes Ingress Controller Fake Certificate".
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import forge from 'node-forge';
import { serverTlsOptions } from '../apiserver/tls.js';
import type { KubeObject } from '../client/kube-client.js';
import { byAge, type IngressProblem, normalizeHost } from './routes.js';

/**
 * The handshake settings of both the default and the Secrets' contexts: the API server's
 * (TLS 1.2 with forward-secret AEAD suites only).
 */
export const tlsOptions = serverTlsOptions;

/** A self-signed certificate and key (PEM) for `cn`, valid for a year. */
export function selfSignedCertificate(cn: string): { cert: string; key: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 86_400_000);
  const subject = [{ name: 'commonName', value: cn }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: cn }] },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(key), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key };
}

/** A TLS Secret's certificate and key (base64 PEM, as the Secret holds them) and its version. */
export interface SecretPem {
  version: string;
  cert: string;
  key: string;
}

/**
 * Names bound to Secrets, as data for another process (the helper processes, which make the
 * same contexts from it): exact and wildcard names to `namespace/name`, and those Secrets.
 */
export interface CertBindings {
  secrets: Map<string, SecretPem>;
  exact: Map<string, string>;
  wildcard: Map<string, string>;
}

function pemContext(p: { cert: string; key: string }): SecureContext {
  return createSecureContext({
    ...tlsOptions,
    cert: Buffer.from(p.cert, 'base64'),
    key: Buffer.from(p.key, 'base64'),
  });
}

interface Loaded extends SecretPem {
  context: SecureContext;
}

/** A TLS Secret's context, or why it has none. */
function loadSecret(secret: KubeObject, version: string): Loaded | string {
  const name = `${secret.metadata.namespace}/${secret.metadata.name}`;
  if (secret.type !== 'kubernetes.io/tls') return `Secret ${name} is not of type kubernetes.io/tls`;
  const data = (secret.data ?? {}) as Record<string, string>;
  const cert = data['tls.crt'];
  const key = data['tls.key'];
  if (!cert || !key) return `Secret ${name} lacks tls.crt or tls.key`;
  try {
    return { version, cert, key, context: pemContext({ cert, key }) };
  } catch (e) {
    return `Secret ${name} holds no usable certificate and key: ${(e as Error).message}`;
  }
}

export class CertStore {
  /** Loaded Secrets by `namespace/name`, with the version they were made from. */
  private bySecret = new Map<string, Loaded>();
  private exactKeys = new Map<string, string>();
  private wildcardKeys = new Map<string, string>();
  private exact = new Map<string, SecureContext>();
  private wildcard = new Map<string, SecureContext>();

  constructor(readonly fallback: SecureContext) {}

  /**
   * Rebinds names to the Secrets the served Ingresses name (`secret(key)` reads the cache);
   * the oldest Ingress wins a name two of them claim. Says what could not be bound.
   */
  update(served: readonly KubeObject[], secret: (key: string) => KubeObject | undefined): IngressProblem[] {
    const problems: IngressProblem[] = [];
    const exact = new Map<string, string>();
    const wildcard = new Map<string, string>();
    const loaded = new Map<string, Loaded>();
    for (const ing of [...served].sort(byAge)) {
      const ns = ing.metadata.namespace ?? 'default';
      // A TLS entry without hosts covers the hosts of the Ingress's rules.
      const ruleHosts = ((ing.spec?.rules ?? []) as { host?: string }[])
        .map((r) => normalizeHost(r.host))
        .filter(Boolean);
      for (const t of (ing.spec?.tls ?? []) as { hosts?: string[]; secretName?: string }[]) {
        if (!t.secretName) continue;
        const key = `${ns}/${t.secretName}`;
        const l = loaded.get(key) ?? this.load(key, secret(key));
        if (typeof l === 'string') {
          problems.push({
            ingress: ing,
            reason: 'SecretNotUsable',
            message: `${l}; its hosts get the default certificate`,
          });
          continue;
        }
        loaded.set(key, l);
        for (const h of t.hosts?.length ? t.hosts.map(normalizeHost) : ruleHosts) {
          const [map, name] = h.startsWith('*.') ? [wildcard, h.slice(2)] : [exact, h];
          if (!map.has(name)) map.set(name, key);
        }
      }
    }
    this.install(loaded, exact, wildcard);
    return problems;
  }

  private load(key: string, s: KubeObject | undefined): Loaded | string {
    if (!s) return `Secret ${key} not found`;
    const version = `${s.metadata.uid}/${s.metadata.resourceVersion}`;
    const had = this.bySecret.get(key);
    if (had?.version === version) return had;
    return loadSecret(s, version);
  }

  private install(
    loaded: Map<string, Loaded>,
    exact: Map<string, string>,
    wildcard: Map<string, string>,
  ): void {
    const contexts = (keys: Map<string, string>) => {
      const out = new Map<string, SecureContext>();
      for (const [name, key] of keys) {
        const l = loaded.get(key);
        if (l) out.set(name, l.context);
      }
      return out;
    };
    this.bySecret = loaded;
    this.exactKeys = exact;
    this.wildcardKeys = wildcard;
    this.exact = contexts(exact);
    this.wildcard = contexts(wildcard);
  }

  /** The current bindings as data (for the helper processes). */
  bindings(): CertBindings {
    const secrets = new Map<string, SecretPem>();
    for (const [k, l] of this.bySecret) secrets.set(k, { version: l.version, cert: l.cert, key: l.key });
    return { secrets, exact: this.exactKeys, wildcard: this.wildcardKeys };
  }

  /**
   * Takes bindings made by another store (the controller's, in a helper process): contexts are
   * made once per Secret version, as update() makes them. A Secret that does not load here (it
   * did there) leaves its names on the default certificate; its reason is returned.
   */
  bind(b: CertBindings): string[] {
    const failed: string[] = [];
    const loaded = new Map<string, Loaded>();
    for (const [k, p] of b.secrets) {
      const had = this.bySecret.get(k);
      if (had?.version === p.version) {
        loaded.set(k, had);
        continue;
      }
      try {
        loaded.set(k, { ...p, context: pemContext(p) });
      } catch (e) {
        failed.push(`Secret ${k} holds no usable certificate and key: ${(e as Error).message}`);
      }
    }
    this.install(loaded, b.exact, b.wildcard);
    return failed;
  }

  /** The context for a handshake's server name (none: the default). */
  contextFor(servername: string | undefined): SecureContext {
    const h = normalizeHost(servername);
    if (!h) return this.fallback;
    const dot = h.indexOf('.');
    return this.exact.get(h) ?? (dot > 0 ? this.wildcard.get(h.slice(dot + 1)) : undefined) ?? this.fallback;
  }

  /** Whether a host has a certificate of its own (for nginx's ssl-redirect). */
  has(host: string): boolean {
    return this.contextFor(host) !== this.fallback;
  }
}
