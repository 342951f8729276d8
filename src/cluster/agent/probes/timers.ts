/**
 * The clock and timers probe workers run on: the real ones, or a fake that tests advance by
 * hand (so a test of a 10 s period takes no 10 s).
 */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: Date.now,
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // Probes alone must not keep the process alive.
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Timers that fire only when `advance` moves the clock past them. */
export class FakeTimers implements Timers {
  private clock: number;
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_000_000) {
    this.clock = start;
  }

  now(): number {
    return this.clock;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.due.set(id, { at: this.clock + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }

  /** Moves the clock by `ms`, firing each timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.clock + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.due) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.due.delete(next[0]);
      this.clock = next[1].at;
      next[1].fn();
    }
    this.clock = end;
  }
}
