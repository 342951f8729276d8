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

/** The secure context of a TLS Secret, or why it has none. */
export function secretContext(secret: KubeObject): SecureContext | string {
  const name = `${secret.metadata.namespace}/${secret.metadata.name}`;
  if (secret.type !== 'kubernetes.io/tls') return `Secret ${name} is not of type kubernetes.io/tls`;
  const data = (secret.data ?? {}) as Record<string, string>;
  const crt = data['tls.crt'];
  const key = data['tls.key'];
  if (!crt || !key) return `Secret ${name} lacks tls.crt or tls.key`;
  try {
    return createSecureContext({
      ...tlsOptions,
      cert: Buffer.from(crt, 'base64'),
      key: Buffer.from(key, 'base64'),
    });
  } catch (e) {
    return `Secret ${name} holds no usable certificate and key: ${(e as Error).message}`;
  }
}

export class CertStore {
  /** Contexts by `namespace/name`, with the Secret version they were made from. */
  private readonly bySecret = new Map<string, { version: string; context: SecureContext }>();
  private exact = new Map<string, SecureContext>();
  private wildcard = new Map<string, SecureContext>();

  constructor(readonly fallback: SecureContext) {}

  /**
   * Rebinds names to the Secrets the served Ingresses name (`secret(key)` reads the cache);
   * the oldest Ingress wins a name two of them claim. Says what could not be bound.
   */
  update(served: readonly KubeObject[], secret: (key: string) => KubeObject | undefined): IngressProblem[] {
    const problems: IngressProblem[] = [];
    const exact = new Map<string, SecureContext>();
    const wildcard = new Map<string, SecureContext>();
    const used = new Set<string>();
    for (const ing of [...served].sort(byAge)) {
      const ns = ing.metadata.namespace ?? 'default';
      // A TLS entry without hosts covers the hosts of the Ingress's rules.
      const ruleHosts = ((ing.spec?.rules ?? []) as { host?: string }[])
        .map((r) => normalizeHost(r.host))
        .filter(Boolean);
      for (const t of (ing.spec?.tls ?? []) as { hosts?: string[]; secretName?: string }[]) {
        if (!t.secretName) continue;
        const key = `${ns}/${t.secretName}`;
        const context = this.context(key, secret(key));
        if (typeof context === 'string') {
          problems.push({
            ingress: ing,
            reason: 'SecretNotUsable',
            message: `${context}; its hosts get the default certificate`,
          });
          continue;
        }
        used.add(key);
        for (const h of t.hosts?.length ? t.hosts.map(normalizeHost) : ruleHosts) {
          const [map, name] = h.startsWith('*.') ? [wildcard, h.slice(2)] : [exact, h];
          if (!map.has(name)) map.set(name, context);
        }
      }
    }
    for (const k of this.bySecret.keys()) if (!used.has(k)) this.bySecret.delete(k);
    this.exact = exact;
    this.wildcard = wildcard;
    return problems;
  }

  private context(key: string, s: KubeObject | undefined): SecureContext | string {
    if (!s) return `Secret ${key} not found`;
    const version = `${s.metadata.uid}/${s.metadata.resourceVersion}`;
    const had = this.bySecret.get(key);
    if (had?.version === version) return had.context;
    const c = secretContext(s);
    if (typeof c !== 'string') this.bySecret.set(key, { version, context: c });
    return c;
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
