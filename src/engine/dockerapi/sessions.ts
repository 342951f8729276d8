/**
 * What the API holds between requests, because Docker's protocol spreads one action over
 * several: `docker run` attaches and waits before it starts, so attach and wait requests for
 * a container that is not running are parked until this service starts it; exec instances
 * live from `exec create` to the end of the service; terminal size changes go to whoever
 * is attached.
 */
import type { TerminalSize } from '../container/streams.js';

/** An exec instance (Docker's `GET /exec/{id}/json`). */
export interface ExecInstance {
  id: string;
  containerId: string;
  command: string[];
  tty: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  env: string[];
  user: string;
  workdir: string;
  running: boolean;
  exitCode: number | null;
  pid: number;
  /** The terminal's last known size (from create or a resize), for a TTY exec not yet started. */
  size?: TerminalSize | undefined;
}

/**
 * How many finished runs and exec instances are remembered: a client asks about one right
 * after it ends (`docker exec` reads the exit code at once), so the oldest can go.
 */
const KEEP = 1000;

/** Drops the oldest entries that `removable` allows until `map` holds at most {@link KEEP}. */
function trim<V>(map: Map<string, V>, removable: (v: V) => boolean = () => true): void {
  for (const [k, v] of map) {
    if (map.size <= KEEP) return;
    if (removable(v)) map.delete(k);
  }
}

/** A run of a container started through this service: its exit, once known. */
interface Run {
  exit: Promise<number | undefined>;
  delivered: boolean;
  /** Attach connections still writing this run's output. */
  streams: Set<Promise<void>>;
}

/**
 * The run's exit once its attached output is written too. dockerd answers a wait only after
 * the output copies ended (its stream config's Wait), and clients count on it: dockerode's
 * `run` takes the wait's answer as the end of the output. Here the output comes from the
 * log's follower, which catches the last lines only when it sees the exit.
 */
async function exitAfterStreams(r: Run): Promise<number | undefined> {
  const code = await r.exit;
  await Promise.all(r.streams);
  return code;
}

/** The API's state between requests. */
export class Sessions {
  private readonly startWaiters = new Map<string, (() => void)[]>();
  private readonly runs = new Map<string, Run>();
  private readonly resizers = new Map<string, Set<(s: TerminalSize) => void>>();
  private readonly execs = new Map<string, ExecInstance>();

  /** An exec instance by ID. */
  exec(id: string): ExecInstance | undefined {
    return this.execs.get(id);
  }

  /** Calls `fn` right after this service next starts container `id` (before answering). */
  onNextStart(id: string, fn: () => void, signal: AbortSignal): void {
    const list = this.startWaiters.get(id) ?? [];
    list.push(fn);
    this.startWaiters.set(id, list);
    signal.addEventListener('abort', () => {
      const now = this.startWaiters.get(id);
      if (now)
        this.startWaiters.set(
          id,
          now.filter((f) => f !== fn),
        );
    });
  }

  /** Resolves after the next start of `id` by this service (rejects with `signal`'s reason). */
  nextStart(id: string, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      this.onNextStart(id, resolve, signal);
      signal.addEventListener('abort', () => reject(signal.reason));
    });
  }

  /**
   * Records a start: `exit` watches this run (set up before the answer, so a container
   * that exits and is removed at once still reports its status), then parked requests go.
   */
  started(id: string, exit: Promise<number | undefined>): void {
    this.runs.delete(id);
    this.runs.set(id, { exit, delivered: false, streams: new Set() });
    trim(this.runs);
    const waiters = this.startWaiters.get(id) ?? [];
    this.startWaiters.delete(id);
    for (const fn of waiters) fn();
  }

  /**
   * The exit of the last run this service started, if no waiter had it yet: a `wait` that
   * reached the service after the `start` it was sent before still gets that exit.
   */
  undeliveredExit(id: string): Promise<number | undefined> | undefined {
    const r = this.runs.get(id);
    if (!r || r.delivered) return undefined;
    r.delivered = true;
    return exitAfterStreams(r);
  }

  /** The current run's exit watch (marking it delivered). */
  currentExit(id: string): Promise<number | undefined> | undefined {
    const r = this.runs.get(id);
    if (!r) return undefined;
    r.delivered = true;
    return exitAfterStreams(r);
  }

  /**
   * Holds waits for the current run of `id` until `done` settles: an attach connection
   * writing that run's output. Nothing when this service did not start the current run.
   */
  streaming(id: string, done: Promise<unknown>): void {
    const r = this.runs.get(id);
    if (!r) return;
    const p = done.then(
      () => undefined,
      () => undefined,
    );
    r.streams.add(p);
    void p.then(() => r.streams.delete(p));
  }

  /** Keeps an exec instance (the oldest finished ones go past {@link KEEP}). */
  addExec(x: ExecInstance): void {
    this.execs.set(x.id, x);
    trim(this.execs, (e) => !e.running);
  }

  /** Subscribes an attached terminal of `key` (a container or exec ID) to resizes. */
  onResize(key: string, fn: (s: TerminalSize) => void): () => void {
    const set = this.resizers.get(key) ?? new Set();
    set.add(fn);
    this.resizers.set(key, set);
    return () => {
      set.delete(fn);
      if (!set.size) this.resizers.delete(key);
    };
  }

  /** Passes a new size to the terminals attached to `key`. */
  resize(key: string, size: TerminalSize): void {
    for (const fn of this.resizers.get(key) ?? []) fn(size);
  }
}
