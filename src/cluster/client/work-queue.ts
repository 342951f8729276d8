import { isAlreadyExists, isConflict } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { RateLimiter } from './rate-limiter.js';

const log = logger('controller');

/** Retries of a key whose sync keeps failing with Conflict that are logged at debug level only. */
const QUIET_CONFLICT_RETRIES = 5;

export interface WorkQueueOptions {
  /** The controller's name, in every log line about a failed key. */
  name: string;
  /** Keys processed at once. Default 4. */
  workers?: number;
  /**
   * Holds keys without processing them until `start()` (a controller's queue waits for its
   * informers' first lists, so no sync acts on a half-filled cache).
   */
  paused?: boolean;
}

/**
 * A work queue of keys for one controller (after client-go's rate-limited queue): a key
 * queued many times is processed once; a key being processed that is queued again runs again
 * after; a failed key is logged with its key and the error, and retried after the rate
 * limiter's delay (rate-limiter.ts).
 */
export class WorkQueue {
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly limiter = new RateLimiter();
  private readonly checks = new Map<string, NodeJS.Timeout>();
  private readonly name: string;
  private readonly workers: number;
  private running = 0;
  private started: boolean;
  private stopped = false;

  constructor(
    private readonly sync: (key: string) => Promise<void>,
    options: WorkQueueOptions,
  ) {
    this.name = options.name;
    this.workers = options.workers ?? 4;
    this.started = !options.paused;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.queued.add(key);
    this.pump();
  }

  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    setTimeout(() => this.add(key), ms).unref();
  }

  /**
   * Queues `key` after `ms`, replacing the previous call's timer for the same key: for a
   * controller that re-plans one check per object on every sync (a deadline, a delay), so
   * thousands of syncs leave one timer, not thousands.
   */
  checkAfter(key: string, ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.checks.get(key));
    const t = setTimeout(() => {
      this.checks.delete(key);
      this.add(key);
    }, ms);
    t.unref();
    this.checks.set(key, t);
  }

  /** Starts processing (a no-op unless the queue was made paused). */
  start(): void {
    this.started = true;
    this.pump();
  }

  /** Keys waiting or being processed (for tests and diagnostics). */
  get length(): number {
    return this.queued.size + this.processing.size;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.checks.values()) clearTimeout(t);
    this.checks.clear();
  }

  private pump(): void {
    while (this.started && !this.stopped && this.running < this.workers && this.queued.size > 0) {
      const key = this.queued.values().next().value as string;
      this.queued.delete(key);
      this.processing.add(key);
      this.running++;
      void this.sync(key)
        .then(
          () => this.limiter.forget(key),
          (err: unknown) => {
            const delay = this.limiter.when(key);
            const retries = this.limiter.retries(key);
            // client-go's HandleError: every failed sync leaves a line naming the object. A
            // Conflict ("the object has been modified") is optimistic concurrency at work: the
            // retry reads the newer object and nearly always succeeds, so its first retries are
            // debug lines (upstream's controllers log retries below maxRetries at V(2)); one
            // that keeps failing is a warning like any other error. AlreadyExists from a create
            // is the same race seen from a cache that has not caught up with the store.
            const stale = isConflict(err) || isAlreadyExists(err);
            const level = stale && retries <= QUIET_CONFLICT_RETRIES ? 'debug' : 'warn';
            log[level]('sync failed; retrying', {
              controller: this.name,
              key,
              err: err instanceof Error ? err.message : String(err),
              retries,
              retryInMs: delay,
            });
            this.addAfter(key, delay);
          },
        )
        .finally(() => {
          this.running--;
          this.processing.delete(key);
          if (this.dirty.delete(key)) this.queued.add(key);
          this.pump();
        });
    }
  }
}
