/**
 * A work queue of keys for one controller (after client-go's rate-limited queue): a key
 * queued many times is processed once; a key being processed that is queued again runs again
 * after; a failed key is retried with exponential back-off (5 ms doubling, at most 30 s).
 */
export class WorkQueue {
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly checks = new Map<string, NodeJS.Timeout>();
  private running = 0;
  private stopped = false;

  constructor(
    private readonly sync: (key: string) => Promise<void>,
    private readonly workers = 4,
  ) {}

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
    setTimeout(() => this.add(key), ms).unref();
  }

  /**
   * Queues `key` after `ms`, replacing the previous call's timer for the same key: for a
   * controller that re-plans one check per object on every sync (a deadline, a delay), so
   * thousands of syncs leave one timer, not thousands.
   */
  checkAfter(key: string, ms: number): void {
    clearTimeout(this.checks.get(key));
    const t = setTimeout(() => {
      this.checks.delete(key);
      this.add(key);
    }, ms);
    t.unref();
    this.checks.set(key, t);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.checks.values()) clearTimeout(t);
    this.checks.clear();
  }

  private pump(): void {
    while (!this.stopped && this.running < this.workers && this.queued.size > 0) {
      const key = this.queued.values().next().value as string;
      this.queued.delete(key);
      this.processing.add(key);
      this.running++;
      void this.sync(key)
        .then(
          () => this.failures.delete(key),
          () => {
            const n = (this.failures.get(key) ?? 0) + 1;
            this.failures.set(key, n);
            this.addAfter(key, Math.min(30_000, 5 * 2 ** n));
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
