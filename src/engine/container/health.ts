/**
 * Health checks, Docker's rules: the image's HEALTHCHECK merged field by field with the
 * `--health-*` flags (`--no-healthcheck` is `Test: ["NONE"]`); the first probe runs one
 * interval after the start; a probe is an exec of `Test` (`CMD` argv or `CMD-SHELL` through
 * `/bin/sh -c`) that is killed after `Timeout`; exit 0 is healthy, anything else a failure;
 * `Retries` failures in a row make the container unhealthy, except that failures during
 * `StartPeriod` while it is still starting do not count. The state (status, failing streak
 * and the last five results, output cut at 4 KiB) is a JSON file beside the container's log.
 *
 * Daemonless, as with podman: nothing of Berth runs between commands, so each container with
 * a check gets a small monitor process (`berth internal healthcheck ID`, see
 * {@link monitorHealth}) started beside conmon. Podman uses a systemd timer calling
 * `podman healthcheck run`; this machine class has no systemd to rely on, and a monitor
 * that watches the container's exit file (inotify) ends by itself with the container, so
 * nothing has to remember to stop it. It holds no lock while waiting.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { invalidArgument } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import type { HealthConfig } from '../image/resolved-image.js';
import type { EngineContext } from './context.js';
import { containerEvent } from './events.js';
import { execInContainer } from './exec.js';
import { waitForExitFile } from './exit-watch.js';
import { startMonitorProcess } from './monitor-process.js';
import { containerPaths } from './paths.js';
import type { ContainerRecord } from './store.js';

const log = logger('health');

/** Docker's defaults when neither the flags nor the image set a value. */
const defaults = { Interval: 30e9, Timeout: 30e9, StartPeriod: 0, Retries: 3 };
/** Docker keeps five results and 4 KiB of each probe's output. */
const keepResults = 5;
const maxOutput = 4096;

/** One probe's result, as `inspect` shows it under `State.Health.Log`. */
export interface HealthResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** `State.Health` in `inspect`. */
export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: HealthResult[];
}

/** The user's check over the image's, field by field (Docker's merge); undefined for none. */
export function mergeHealth(
  image: HealthConfig | undefined,
  user: HealthConfig | undefined,
): HealthConfig | undefined {
  if (!image && !user) return undefined;
  const merged: HealthConfig = {
    ...image,
    ...user,
    Test: user?.Test.length ? user.Test : (image?.Test ?? []),
  };
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'Retries'] as const)
    if (!user?.[k]) merged[k] = image?.[k] ?? user?.[k];
  return merged;
}

/** True when the check runs at all (a test, and not `NONE`). */
export function healthEnabled(h: HealthConfig | undefined): h is HealthConfig {
  return !!h && h.Test.length > 0 && h.Test[0] !== 'NONE';
}

/** Refuses values Docker's daemon refuses, in its words. */
export function validateHealth(h: HealthConfig): void {
  for (const k of ['Interval', 'Timeout', 'StartPeriod'] as const) {
    const v = h[k] ?? 0;
    if (v !== 0 && v < 1e6) throw invalidArgument(`${k} in Healthcheck cannot be less than 1ms`);
  }
  if ((h.Retries ?? 0) < 0) throw invalidArgument('Retries in Healthcheck cannot be negative');
  if (h.Test.length && !['NONE', 'CMD', 'CMD-SHELL'].includes(h.Test[0]!))
    throw invalidArgument(`Healthcheck test must start with NONE, CMD or CMD-SHELL, not ${h.Test[0]}`);
}

/** The argv a probe execs. */
function probeCommand(test: string[]): string[] {
  return test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', test.slice(1).join(' ')] : test.slice(1);
}

const stateFile = (ctx: EngineContext, id: string) => join(containerPaths(ctx, id).dir, 'health.json');

/** The container's health, or undefined when it has no check or never started with one. */
export function readHealth(ctx: EngineContext, rec: ContainerRecord): HealthState | undefined {
  if (!healthEnabled(rec.config.healthcheck)) return undefined;
  try {
    return JSON.parse(readFileSync(stateFile(ctx, rec.id), 'utf8')) as HealthState;
  } catch {
    // Never started since the check was set: Docker shows no Health object either.
    return undefined;
  }
}

function writeHealth(ctx: EngineContext, id: string, s: HealthState): void {
  const file = stateFile(ctx, id);
  writeFileSync(`${file}.tmp`, JSON.stringify(s));
  renameSync(`${file}.tmp`, file);
}

/** `ps`'s suffix: ` (healthy)`, ` (unhealthy)`, ` (health: starting)`, or nothing. */
export function healthSuffix(h: HealthState | undefined): string {
  if (!h) return '';
  return h.Status === 'starting' ? ' (health: starting)' : ` (${h.Status})`;
}

/**
 * Resets the state to `starting` for a new run and, when the container has a check, starts
 * its monitor (detached, so it outlives this process). Called right after the runtime's start.
 */
export function startHealthMonitor(ctx: EngineContext, rec: ContainerRecord): void {
  if (!healthEnabled(rec.config.healthcheck)) return;
  writeHealth(ctx, rec.id, { Status: 'starting', FailingStreak: 0, Log: [] });
  startMonitorProcess(ctx, 'healthcheck', rec.id);
}

/** Collects up to `limit` bytes of whatever is written. */
class Capture extends Writable {
  text = '';
  constructor(private readonly limit: number) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    if (this.text.length < this.limit) this.text = (this.text + chunk.toString('utf8')).slice(0, this.limit);
    done();
  }
}

const seconds = (ns: number) => `${ns / 1e9}s`;

/**
 * Runs one probe now and records its result (podman's `healthcheck run`). Returns the new
 * state. Emits Docker's `health_status: X` event when the status changes.
 */
export async function runHealthProbe(ctx: EngineContext, rec: ContainerRecord): Promise<HealthState> {
  const h = rec.config.healthcheck;
  if (!healthEnabled(h)) throw invalidArgument(`Container ${rec.name} has no health check defined`);
  const timeout = h.Timeout || defaults.Timeout;
  const out = new Capture(maxOutput);
  const start = new Date();
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeout / 1e6);
  let exitCode: number;
  try {
    exitCode = await execInContainer(ctx, rec.id, {
      command: probeCommand(h.Test),
      tty: false,
      detach: false,
      env: [],
      user: '',
      workdir: '',
      stdout: out,
      stderr: out,
      signal: abort.signal,
    });
  } catch (e) {
    // Docker records a probe that could not run as a failed result with its error.
    exitCode = -1;
    out.text = e instanceof Error ? e.message : String(e);
  } finally {
    clearTimeout(timer);
  }
  if (abort.signal.aborted) {
    exitCode = -1;
    out.text = `Health check exceeded timeout (${seconds(timeout)})`;
  }
  const result: HealthResult = {
    Start: start.toISOString(),
    End: new Date().toISOString(),
    ExitCode: exitCode,
    Output: out.text,
  };
  const before = readHealth(ctx, rec) ?? { Status: 'starting', FailingStreak: 0, Log: [] };
  const next: HealthState = { ...before, Log: [...before.Log, result].slice(-keepResults) };
  if (exitCode === 0) {
    next.Status = 'healthy';
    next.FailingStreak = 0;
  } else {
    const inStartPeriod = Date.now() - Date.parse(rec.startedAt) < (h.StartPeriod ?? 0) / 1e6;
    if (!(inStartPeriod && before.Status === 'starting')) {
      next.FailingStreak = before.FailingStreak + 1;
      if (next.FailingStreak >= (h.Retries || defaults.Retries)) next.Status = 'unhealthy';
    }
  }
  writeHealth(ctx, rec.id, next);
  if (next.Status !== before.Status) containerEvent(ctx, rec, `health_status: ${next.Status}`);
  return next;
}

/**
 * The monitor: waits one interval, probes, and again, for as long as this run of the
 * container lasts (its exit file appears, or the record shows another run or no run).
 * A paused container is not probed, as in Docker.
 */
export async function monitorHealth(ctx: EngineContext, id: string, signal?: AbortSignal): Promise<void> {
  const first = ctx.containers.get(id);
  const paths = containerPaths(ctx, id);
  const interval = (first.config.healthcheck?.Interval || defaults.Interval) / 1e6;
  for (;;) {
    const w = await waitForExitFile(paths, first.pid, interval, signal);
    if (!w.timedOut) return;
    const rec = ctx.containers.find(id);
    if (!rec || rec.startedAt !== first.startedAt || (rec.state !== 'running' && rec.state !== 'paused'))
      return;
    if (rec.state === 'paused') continue;
    try {
      await runHealthProbe(ctx, rec);
    } catch (e) {
      log.warn('health probe failed to run', { id, err: e });
    }
  }
}
