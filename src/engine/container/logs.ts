/**
 * `logs`: a container's output from its k8s-file log, with Docker's `--tail`, `--since` and
 * `--follow` rules. Following starts at exactly the byte where the first read ended, so no
 * line is lost or shown twice, and ends when the container stops.
 */
import { invalidArgument } from '../../core/errors.js';
import { followLog, type LogEntry, readLog } from '../runtime/k8s-log.js';
import type { EngineContext } from './context.js';
import { waitContainer } from './lifecycle.js';
import { logFiles } from './log-rotate.js';
import { containerPaths } from './paths.js';
import type { ContainerRecord } from './store.js';

/** Options of {@link streamLogs}. */
export interface LogOptions {
  /** The last N lines only; undefined for all. */
  tail?: number;
  /** Only entries at or after this time (ms since the epoch). */
  since?: number;
  /** Keep printing new output until the container stops (or `signal` aborts). */
  follow?: boolean;
  signal?: AbortSignal;
}

/** `--since`: RFC 3339, unix seconds, or a duration before now (`10m`, `1h30m`, `45s`). */
export function parseSince(since: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(since)) return Number(since) * 1000;
  const dur = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(since);
  if (dur && since)
    return now - ((Number(dur[1] ?? 0) * 60 + Number(dur[2] ?? 0)) * 60 + Number(dur[3] ?? 0)) * 1000;
  const t = Date.parse(since);
  if (Number.isNaN(t))
    throw invalidArgument(`Invalid --since "${since}": use RFC 3339, unix seconds or a duration like 10m`);
  return t;
}

/**
 * A log entry's time as `docker logs -t` prints it: RFC 3339 in UTC with nine fraction
 * digits and `Z` (Docker's RFC3339NanoFixed). conmon writes the local offset and may write
 * fewer digits; the nanoseconds are kept as written.
 */
export function dockerTimestamp(time: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$/i.exec(time);
  const ms = m ? Date.parse(`${m[1]}${m[3]!.toUpperCase()}`) : Number.NaN;
  if (!m || Number.isNaN(ms)) return time;
  return `${new Date(ms).toISOString().slice(0, 19)}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}Z`;
}

/** `--tail`: a whole number or `all`. */
export function parseTail(tail: string): number | undefined {
  if (tail === 'all') return undefined;
  if (!/^\d+$/.test(tail)) throw invalidArgument(`Invalid --tail "${tail}": use a whole number or all`);
  return Number(tail);
}

/** The entries that make up the last `n` lines (a partial chunk belongs to the line it starts). */
export function tailEntries(entries: readonly LogEntry[], n: number): LogEntry[] {
  if (n <= 0) return [];
  let lines = 0;
  let i = entries.length;
  while (i > 0) {
    const ends = entries[i - 1]!.data.at(-1) === 0x0a;
    if (ends) {
      if (lines === n) break;
      lines++;
    }
    i--;
  }
  return entries.slice(i);
}

/** Writes the container's log through `write`, following it when asked. */
export async function streamLogs(
  ctx: EngineContext,
  rec: ContainerRecord,
  o: LogOptions,
  write: (e: LogEntry) => void,
): Promise<void> {
  const path = containerPaths(ctx, rec.id).log;
  const emit = (e: LogEntry) => {
    if (o.since === undefined || Date.parse(e.time) >= o.since) write(e);
  };
  // Rotated files first, oldest first (log-rotate.ts), then the live one.
  const older = logFiles(path)
    .slice(0, -1)
    .flatMap((f) => readLog(f).entries);
  const { entries: live, size } = readLog(path);
  const entries = [...older, ...live];
  for (const e of o.tail === undefined ? entries : tailEntries(entries, o.tail)) emit(e);
  if (!o.follow || rec.state !== 'running') return;
  const follower = followLog(path, size, emit);
  try {
    await waitContainer(ctx, rec.id, o.signal);
  } catch (e) {
    if (!o.signal?.aborted) throw e;
  } finally {
    follower.stop();
  }
}
