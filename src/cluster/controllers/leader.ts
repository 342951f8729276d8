/**
 * Leader election on a coordination.k8s.io Lease (after client-go's leaderelection): of all
 * the control planes pointed at one cluster, only the holder of the Lease runs controllers.
 * A candidate takes the Lease when it is missing or has not been renewed for its duration;
 * every write carries the resourceVersion it read, so two candidates can never both win. The
 * leader renews every retry period; if it cannot renew within the renew deadline it stops
 * leading (its controllers stop) and campaigns again.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { isAlreadyExists, isConflict, isNotFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { metaMicroTime } from '../api/meta-time.js';
import type { KubeClient, KubeObject } from '../client/kube-client.js';
import { Resources } from '../client/kube-client.js';

const log = logger('leader');

export interface LeaderOptions {
  namespace?: string;
  name?: string;
  identity?: string;
  /** Default 15 s, 10 s, 2 s (client-go's and kube-controller-manager's). */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

/** Lease timestamps are RFC 3339 with microseconds. */

export class LeaderElector {
  readonly identity: string;
  private leading = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private lastRenew = 0;
  private readonly ns: string;
  private readonly name: string;
  private readonly duration: number;
  private readonly deadline: number;
  private readonly retry: number;

  constructor(
    private readonly client: KubeClient,
    private readonly onStart: () => void,
    private readonly onStop: () => void,
    opts: LeaderOptions = {},
  ) {
    this.identity = opts.identity ?? `${hostname()}_${randomUUID()}`;
    this.ns = opts.namespace ?? 'kube-system';
    this.name = opts.name ?? 'berth-controller-manager';
    this.duration = opts.leaseDurationMs ?? 15_000;
    this.deadline = opts.renewDeadlineMs ?? Math.min(10_000, Math.floor((this.duration * 2) / 3));
    this.retry = opts.retryPeriodMs ?? Math.min(2_000, Math.floor(this.duration / 5));
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  /** Stops campaigning; a leader gives the Lease up so another can take it at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.leading) {
      this.leading = false;
      this.onStop();
      try {
        const cur = await this.client.get(Resources.leases, this.ns, this.name);
        if (cur.spec?.holderIdentity === this.identity)
          await this.client.update(Resources.leases, {
            ...cur,
            spec: { ...cur.spec, holderIdentity: null, renewTime: metaMicroTime(0), leaseDurationSeconds: 1 },
          });
      } catch (e) {
        // Not released: it expires on its own, a lease duration later.
        log.warn('releasing the leader Lease failed', { err: e as Error });
      }
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      const ok = await this.tryAcquireOrRenew();
      // stop() may have run during the attempt: starting controllers now would leave them
      // running with nobody to stop them.
      if (this.stopped) return;
      if (ok) this.lastRenew = Date.now();
      if (ok && !this.leading) {
        this.leading = true;
        log.info('became the leader', { lease: `${this.ns}/${this.name}`, identity: this.identity });
        this.onStart();
      }
    } catch (e) {
      log.debug('lease attempt failed', { err: e as Error });
    }
    if (this.leading && Date.now() - this.lastRenew > this.deadline) {
      this.leading = false;
      log.warn('lost the lease; controllers stop', { lease: `${this.ns}/${this.name}` });
      this.onStop();
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.tick(), this.retry);
      this.timer.unref();
    }
  }

  /** One attempt: true when this candidate holds the Lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = Date.now();
    const spec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.duration / 1000),
      renewTime: metaMicroTime(now),
    };
    let cur: KubeObject;
    try {
      cur = await this.client.get(Resources.leases, this.ns, this.name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      try {
        await this.client.create(Resources.leases, this.ns, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.name, namespace: this.ns },
          spec: { ...spec, acquireTime: metaMicroTime(now), leaseTransitions: 0 },
        });
        return true;
      } catch (e2) {
        if (isAlreadyExists(e2)) return false;
        throw e2;
      }
    }
    const held = cur.spec?.holderIdentity;
    const renewed = Date.parse(cur.spec?.renewTime ?? '') || 0;
    const expired = renewed + (cur.spec?.leaseDurationSeconds ?? 15) * 1000 < now;
    if (held && held !== this.identity && !expired) return false;
    const mine = held === this.identity;
    try {
      await this.client.update(Resources.leases, {
        ...cur,
        spec: {
          ...cur.spec,
          ...spec,
          ...(mine
            ? {}
            : {
                acquireTime: metaMicroTime(now),
                leaseTransitions: (cur.spec?.leaseTransitions ?? 0) + (held ? 1 : 0),
              }),
        },
      });
      return true;
    } catch (e) {
      if (isConflict(e)) return false; // another candidate wrote first
      throw e;
    }
  }
}
