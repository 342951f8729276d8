/**
 * Renewing a certificate before it expires, as the kubelet's certificate manager does: once a
 * jittered 70-90% of the certificate's life (from notBefore to notAfter) has passed, a new key
 * is made and a certificate requested for it; the new pair is handed over (saved, then put in
 * use) and the next deadline taken from it. A failed request is tried again after 2 s,
 * doubling up to 5 minutes. With no certificate yet, it requests one at once.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { logger } from '../../core/log.js';

const log = logger('agent');

/** A certificate and its private key, both PEM. */
export interface KeyPair {
  cert: string;
  key: string;
}

/** The longest single wait (setTimeout's limit is about 24.8 days; a year's certificate waits longer). */
const maxWaitMs = 86_400_000;
const firstRetryMs = 2_000;
const maxRetryMs = 5 * 60_000;

/**
 * When to renew `certPem` (ms since the epoch): notBefore plus 70% to 90% of its life, as the
 * kubelet's `nextRotationDeadline`, so that many nodes given certificates at once do not all
 * renew at once.
 */
export function rotationDeadline(certPem: string, random: () => number = Math.random): number {
  const c = new X509Certificate(certPem);
  const from = Date.parse(c.validFrom);
  const life = Date.parse(c.validTo) - from;
  return from + life * (0.7 + 0.2 * random());
}

/** A new RSA key (PKCS#1 PEM), as every renewal uses a fresh one. */
export function newKey(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
}

export interface RotationOptions {
  /** For log lines: `client` or `serving`. */
  name: string;
  /** The pair in use now, if there is one. */
  current?: KeyPair;
  /** Requests a certificate for the given key; resolves with the signed certificate (PEM). */
  renew(key: string): Promise<string>;
  /** Takes a new pair: save it, then use it. */
  rotated(pair: KeyPair): void;
  random?: () => number;
  now?: () => number;
}

export class CertificateRotation {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private retryMs = firstRetryMs;
  private pair?: KeyPair;
  /** When the pair in use is renewed (now, with none), drawn once per pair. */
  private deadline: number;

  constructor(private readonly opts: RotationOptions) {
    if (opts.current) this.pair = opts.current;
    this.deadline = this.nextDeadline();
  }

  private nextDeadline(): number {
    return this.pair ? rotationDeadline(this.pair.cert, this.opts.random) : this.now();
  }

  /** The pair in use, if any. */
  get current(): KeyPair | undefined {
    return this.pair;
  }

  start(): this {
    this.schedule();
    return this;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private schedule(delayMs?: number): void {
    if (this.stopped) return;
    const wait = delayMs ?? Math.max(0, this.deadline - this.now());
    this.timer = setTimeout(
      () => {
        if (delayMs === undefined && this.now() < this.deadline) return this.schedule();
        void this.rotate();
      },
      Math.min(wait, maxWaitMs),
    );
    // A pending renewal must not keep a stopping process alive.
    this.timer.unref();
  }

  private async rotate(): Promise<void> {
    const key = newKey();
    let pair: KeyPair;
    try {
      pair = { cert: await this.opts.renew(key), key };
      if (this.stopped) return;
      this.opts.rotated(pair);
    } catch (e) {
      if (this.stopped) return;
      log.warn('certificate renewal failed; trying again', {
        certificate: this.opts.name,
        retryInSeconds: this.retryMs / 1000,
        err: e as Error,
      });
      const retry = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, maxRetryMs);
      return this.schedule(retry);
    }
    this.retryMs = firstRetryMs;
    this.pair = pair;
    this.deadline = this.nextDeadline();
    log.info('certificate renewed', {
      certificate: this.opts.name,
      notAfter: new X509Certificate(pair.cert).validTo,
    });
    this.schedule();
  }
}
