/**
 * How long a failed key waits before its next try (after client-go's
 * `DefaultControllerRateLimiter`): the larger of a per-key exponential back-off (5 ms,
 * doubling, at most 1,000 s) and an overall token bucket (10 retries a second, bursts of
 * 100), so one broken object backs off alone while a storm of failures cannot flood the API.
 */
export class RateLimiter {
  private readonly failures = new Map<string, number>();
  private tokens: number;
  private last: number;

  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 1_000_000,
    private readonly qps = 10,
    private readonly burst = 100,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** The delay before `key`'s next try; counts one more failure for it. */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const perItem = Math.min(this.maxMs, this.baseMs * 2 ** n);
    return Math.max(perItem, this.bucketDelay());
  }

  /** How many times `key` has failed since it last succeeded. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** `key` succeeded (or is gone): its back-off starts again from the base. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Takes a token, going into debt when none is left: the debt is how long to wait. */
  private bucketDelay(): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }
}
