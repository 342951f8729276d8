/**
 * Per-key exponential back-off (after client-go's `flowcontrol.Backoff`, which the kubelet
 * uses for CrashLoopBackOff and image pulls): the first retry is immediate, each one after
 * it waits twice as long as the one before, from `initialMs` up to `maxMs`; a key left alone
 * for twice the maximum starts over.
 */
export class Backoff {
  private readonly entries = new Map<string, { delayMs: number; lastUpdate: number }>();

  constructor(
    private readonly now: () => number,
    readonly initialMs = 10_000,
    readonly maxMs = 300_000,
  ) {}

  /** Records one more retry of `key` and returns the delay before the next one. */
  next(key: string): number {
    const t = this.now();
    const e = this.entries.get(key);
    const delayMs =
      !e || t - e.lastUpdate > 2 * this.maxMs ? this.initialMs : Math.min(e.delayMs * 2, this.maxMs);
    this.entries.set(key, { delayMs, lastUpdate: t });
    return delayMs;
  }

  /**
   * How long `key` must still wait, counted from `since` (when the thing last failed;
   * default: the last `next`): 0 when it may be retried now.
   */
  remaining(key: string, since?: number): number {
    const e = this.entries.get(key);
    if (!e || this.now() - e.lastUpdate > 2 * this.maxMs) return 0;
    return Math.max(0, (since ?? e.lastUpdate) + e.delayMs - this.now());
  }

  /** The current delay of `key` (0 when it has none), for messages. */
  delay(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  /** Forgets every key that starts with `prefix` (a pod that is gone). */
  forgetPrefix(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
