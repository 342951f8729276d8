/**
 * Creations and deletions a controller is waiting to see in its pod cache, per owner key
 * (client-go's `ControllerExpectations`): until they show up, another sync must not act on
 * a stale count and create the same pods twice. They expire after five minutes (upstream's
 * timeout), so a lost event only delays; they are dropped when their owner is deleted, so a
 * recreated owner of the same name starts clean.
 */
export class Expectations {
  static readonly TIMEOUT_MS = 5 * 60_000;
  private readonly m = new Map<string, { adds: number; dels: number; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Sets what `key` waits for, replacing earlier expectations. */
  expect(key: string, adds: number, dels: number): void {
    this.m.set(key, { adds, dels, at: this.now() });
  }

  /** One expected creation or deletion was seen (or will never happen: it failed). */
  observed(key: string, kind: 'add' | 'del', n = 1): void {
    const e = this.m.get(key);
    if (!e) return;
    if (kind === 'add') e.adds -= n;
    else e.dels -= n;
  }

  /** True when nothing is outstanding for `key` (or what is has expired). */
  satisfied(key: string): boolean {
    const e = this.m.get(key);
    if (!e) return true;
    if ((e.adds <= 0 && e.dels <= 0) || this.now() - e.at > Expectations.TIMEOUT_MS) {
      this.m.delete(key);
      return true;
    }
    return false;
  }

  /** The owner is gone: forget what it waited for. */
  delete(key: string): void {
    this.m.delete(key);
  }

  /** Owner keys with expectations outstanding (for tests). */
  get size(): number {
    return this.m.size;
  }
}
