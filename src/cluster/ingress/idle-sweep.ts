/**
 * Idle timeouts of many client connections with one timer. A socket's own setTimeout makes a
 * timer and a bound function per connection and re-arms it on every read and write; a
 * connection per request paid that for a timeout that almost never fires. Here a member marks
 * its activity by zeroing a counter (a field write), and one interval counts every member's
 * idle ticks, so a member is called idle between `limitTicks - 1` and `limitTicks` ticks after
 * its last activity.
 */

/** A connection with an idle timeout. */
export interface IdleMember {
  /** Ticks since the member's last activity: zero it on activity. */
  idleTicks: number;
  /** Idle for the limit. Called again each tick until the member zeroes its counter or leaves. */
  onIdle(): void;
}

export class IdleSweep {
  private readonly members = new Set<IdleMember>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly tickMs: number,
    private readonly limitTicks: number,
  ) {}

  add(m: IdleMember): void {
    m.idleTicks = 0;
    this.members.add(m);
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.tickMs);
      // The sweep alone never holds the process open.
      this.timer.unref();
    }
  }

  delete(m: IdleMember): void {
    this.members.delete(m);
  }

  /** Stops the timer; members are forgotten. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.members.clear();
  }

  /** One tick: every member one tick older, those at the limit told (exposed for tests). */
  sweep(): void {
    for (const m of this.members) if (++m.idleTicks >= this.limitTicks) m.onIdle();
  }
}
