/**
 * The probes of a node's running containers (the kubelet's prober manager): the pod sync
 * tells it which containers run, it keeps one worker per container and probe kind (a new
 * container, a restart, gets new workers), and answers what the probes say: whether a
 * container has started, whether it is ready, and whether it must be killed. A change of a
 * result asks for the pod to be synced again.
 */
import type { KubeObject } from '../../client/kube-client.js';
import type { ContainerStatus, PodRef, PodRuntime } from '../runtime.js';
import { type ProbeAction, type ProbeKind, probeOf } from './probe-spec.js';
import { ProbeWorker } from './probe-worker.js';
import { type ActionResult, type ActionTarget, runAction } from './run-action.js';
import { realTimers, type Timers } from './timers.js';

const kinds: ProbeKind[] = ['startup', 'liveness', 'readiness'];
const title: Record<ProbeKind, string> = { startup: 'Startup', liveness: 'Liveness', readiness: 'Readiness' };

export interface ProbeManagerOptions {
  runtime: Pick<PodRuntime, 'exec'>;
  /** Asks for a sync of the pod (a result changed). */
  onChange(pod: PodRef): void;
  /** Records an event about the pod (Unhealthy). */
  event?(pod: PodRef, type: 'Normal' | 'Warning', reason: string, message: string): void;
  timers?: Timers;
  /** Runs one action (tests script the outcomes). */
  run?(action: ProbeAction, target: ActionTarget, timeoutMs: number): Promise<ActionResult>;
}

/** What the probes say about a running container. */
export interface ProbeVerdict {
  started: boolean;
  ready: boolean;
  /** Set when a liveness or startup probe failed: the container must be restarted. */
  kill?: { kind: ProbeKind; graceSeconds?: number };
}

// biome-ignore lint/suspicious/noExplicitAny: a container of the pod spec
type SpecContainer = any;

export class ProbeManager {
  /** Workers by `uid/container/kind`. */
  private readonly workers = new Map<string, ProbeWorker>();
  private readonly timers: Timers;

  constructor(private readonly opts: ProbeManagerOptions) {
    this.timers = opts.timers ?? realTimers;
  }

  /** Starts and stops workers to match the pod's running containers. */
  update(pod: KubeObject, containers: ContainerStatus[], podIP: string): void {
    const uid = pod.metadata.uid ?? '';
    const ref: PodRef = { uid, name: pod.metadata.name ?? '', namespace: pod.metadata.namespace ?? '' };
    const running = new Map(
      containers.filter((c) => c.state === 'running' && !c.init).map((c) => [c.name, c]),
    );
    const keep = new Set<string>();
    for (const c of (pod.spec?.containers ?? []) as SpecContainer[]) {
      const run = running.get(c.name);
      if (!run) continue;
      for (const kind of kinds) {
        const spec = probeOf(c, kind);
        if (!spec) continue;
        const key = `${uid}/${c.name}/${kind}`;
        keep.add(key);
        if (this.workers.get(key)?.target.containerId === run.id) continue;
        this.workers.get(key)?.stop();
        const w: ProbeWorker = new ProbeWorker(
          kind,
          spec,
          { containerId: run.id, podIP, runtime: this.opts.runtime, startedAt: run.startedAt },
          {
            timers: this.timers,
            run: this.opts.run ?? runAction,
            started: () => this.started(uid, c.name, run.id),
            changed: () => this.opts.onChange(ref),
            failed: (out) =>
              this.opts.event?.(ref, 'Warning', 'Unhealthy', `${title[kind]} probe failed: ${out}`.trimEnd()),
          },
        );
        this.workers.set(key, w);
        w.start();
      }
    }
    for (const [key, w] of this.workers)
      if (key.startsWith(`${uid}/`) && !keep.has(key)) {
        w.stop();
        this.workers.delete(key);
      }
  }

  private worker(uid: string, name: string, id: string, kind: ProbeKind): ProbeWorker | undefined {
    const w = this.workers.get(`${uid}/${name}/${kind}`);
    return w?.target.containerId === id ? w : undefined;
  }

  private started(uid: string, name: string, id: string): boolean {
    const s = this.worker(uid, name, id, 'startup');
    return !s || s.result === 'success';
  }

  /**
   * What the probes say about running container `id` (named `name` in pod `uid`). A container
   * without probes has started and is ready; one whose workers do not exist yet (the sync has
   * not called `update`) is judged by its spec: not ready while a readiness probe is pending.
   */
  verdict(uid: string, c: SpecContainer, id: string): ProbeVerdict {
    const hasStartup = !!probeOf(c, 'startup');
    const hasReadiness = !!probeOf(c, 'readiness');
    const startup = this.worker(uid, c.name, id, 'startup');
    const started = hasStartup ? startup?.result === 'success' : true;
    const readiness = this.worker(uid, c.name, id, 'readiness');
    const ready = started && (hasReadiness ? readiness?.result === 'success' : true);
    for (const kind of ['startup', 'liveness'] as const) {
      const w = this.worker(uid, c.name, id, kind);
      if (w?.result === 'failure') {
        const grace = w.spec.terminationGracePeriodSeconds;
        return {
          started,
          ready: false,
          kill: { kind, ...(grace !== undefined ? { graceSeconds: grace } : {}) },
        };
      }
    }
    return { started, ready };
  }

  /** Stops every worker of pod `uid` (it is being torn down). */
  forget(uid: string): void {
    for (const [key, w] of this.workers)
      if (key.startsWith(`${uid}/`)) {
        w.stop();
        this.workers.delete(key);
      }
  }

  /** Resolves once no probe is running (for tests). */
  async settled(): Promise<void> {
    for (;;) {
      const busy = [...this.workers.values()].map((w) => w.inFlight).filter(Boolean);
      if (!busy.length) return;
      await Promise.all(busy);
    }
  }

  /** Stops every worker. */
  stop(): void {
    for (const w of this.workers.values()) w.stop();
    this.workers.clear();
  }
}
