/**
 * One probe of one running container (the kubelet's prober worker): it runs the probe every
 * period once the initial delay has passed, and changes its result only after
 * `successThreshold` successes or `failureThreshold` failures in a row. Readiness starts as
 * failure, liveness as success, startup as unknown; liveness and readiness wait until the
 * startup probe has succeeded. A liveness or startup failure puts the worker on hold: the
 * container is about to be killed, and its next run gets a new worker.
 */

import type { ProbeAction, ProbeKind, ProbeSpec } from './probe-spec.js';
import type { ActionResult, ActionTarget } from './run-action.js';
import type { Timers } from './timers.js';

export type ProbeResult = 'success' | 'failure' | 'unknown';

export interface ProbeWorkerDeps {
  timers: Timers;
  run(action: ProbeAction, target: ActionTarget, timeoutMs: number): Promise<ActionResult>;
  /** Whether the container's startup probe (if any) has succeeded. */
  started(): boolean;
  /** The worker's result changed. */
  changed(): void;
  /** One run of the probe failed (the Unhealthy event). */
  failed(output: string): void;
}

const initial: Record<ProbeKind, ProbeResult> = {
  readiness: 'failure',
  liveness: 'success',
  startup: 'unknown',
};

export class ProbeWorker {
  result: ProbeResult;
  private lastOk: boolean | undefined;
  private streak = 0;
  private onHold = false;
  private stopped = false;
  private timer: unknown;
  /** The run in progress, for tests that wait for probes to settle. */
  inFlight: Promise<void> | undefined;

  constructor(
    readonly kind: ProbeKind,
    readonly spec: ProbeSpec,
    readonly target: ActionTarget & { startedAt: number },
    private readonly deps: ProbeWorkerDeps,
  ) {
    this.result = initial[kind];
  }

  start(): void {
    const t = this.deps.timers;
    const wait = this.target.startedAt + this.spec.initialDelaySeconds * 1000 - t.now();
    this.schedule(Math.max(0, wait));
  }

  stop(): void {
    this.stopped = true;
    this.deps.timers.clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.deps.timers.setTimeout(() => {
      this.inFlight = this.tick().finally(() => {
        this.inFlight = undefined;
        // A startup probe is done once it succeeded.
        if (!(this.kind === 'startup' && this.result === 'success'))
          this.schedule(this.spec.periodSeconds * 1000);
      });
    }, ms);
  }

  /** One run of the probe and what follows from it. */
  private async tick(): Promise<void> {
    if (this.onHold || this.stopped) return;
    if (this.kind !== 'startup' && !this.deps.started()) return;
    const r = await this.deps.run(this.spec.action, this.target, this.spec.timeoutSeconds * 1000);
    if (this.stopped) return;
    if (!r.ok) this.deps.failed(r.output);
    this.streak = this.lastOk === r.ok ? this.streak + 1 : 1;
    this.lastOk = r.ok;
    if (r.ok ? this.streak < this.spec.successThreshold : this.streak < this.spec.failureThreshold) return;
    const next: ProbeResult = r.ok ? 'success' : 'failure';
    if (!r.ok && this.kind !== 'readiness') {
      // The container gets killed; probing it further would only count again.
      this.onHold = true;
      this.streak = 0;
    }
    if (next === this.result) return;
    this.result = next;
    this.deps.changed();
  }
}
