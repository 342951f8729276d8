/**
 * The engine's event journal: one row per thing that happened (a container created,
 * started, died; an image pulled, tagged, deleted; a volume or network created ...), in the
 * engine database, so every front end (`berth events`, later the Docker API's `/events`)
 * reads the same history, whichever process did the work. Rows are Docker's event shape.
 * The table keeps at most the newest {@link JOURNAL_LIMIT} rows; older ones are pruned as rows are added.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { invalidArgument } from '../../core/errors.js';
import { labelMatches } from '../label-filter.js';
import { type EngineDb, migrate } from '../state/db.js';

/** Docker's event types that Berth records. */
export type EventType = 'container' | 'image' | 'volume' | 'network';

/** One event in Docker's JSON shape (`docker events --format '{{json .}}'`, `GET /events`). */
export interface EngineEvent {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  /** Seconds since the epoch. */
  time: number;
  /** Nanoseconds since the epoch. */
  timeNano: number;
}

/** Which events to read. */
export interface EventQuery {
  /** Only events at or after this time (ms since the epoch). */
  since?: number;
  /** Only events before this time (ms since the epoch); without it a follow never ends. */
  until?: number;
  /** Docker's filters: type, event (action), container, image, volume, network, label. */
  filters?: Record<string, string[]>;
}

/** How many rows the journal keeps. */
export const JOURNAL_LIMIT = 10_000;
/** Pruning runs on every this-many appends, so it costs little per event. */
const PRUNE_EVERY = 100;
const FOLLOW_POLL_MS = 250;

const schema = [
  `CREATE TABLE events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL, type TEXT NOT NULL,
     action TEXT NOT NULL, actor_id TEXT NOT NULL, attributes TEXT NOT NULL)`,
];

type Row = {
  seq: number;
  time_ms: number;
  type: EventType;
  action: string;
  actor_id: string;
  attributes: string;
};

function fromRow(r: Row): EngineEvent {
  return {
    Type: r.type,
    Action: r.action,
    Actor: { ID: r.actor_id, Attributes: JSON.parse(r.attributes) as Record<string, string> },
    scope: 'local',
    time: Math.floor(r.time_ms / 1000),
    // Milliseconds are what is recorded; nanoseconds keep Docker's field (exact as a double's shortest form).
    timeNano: r.time_ms * 1e6,
  };
}

const FILTER_KEYS = ['type', 'event', 'container', 'image', 'volume', 'network', 'label'] as const;

/** Checks `--filter` keys up front (Docker names the bad one). */
export function checkEventFilters(filters: Record<string, string[]>): void {
  for (const k of Object.keys(filters))
    if (!(FILTER_KEYS as readonly string[]).includes(k))
      throw invalidArgument(`Invalid filter '${k}': use one of ${FILTER_KEYS.join(', ')}`);
}

/** Docker's matching: values of one key are alternatives, different keys must all match. */
export function eventMatches(e: EngineEvent, filters: Record<string, string[]> = {}): boolean {
  const attrs = e.Actor.Attributes;
  const named = (type: EventType, v: string) =>
    e.Type === type && (e.Actor.ID === v || e.Actor.ID.startsWith(v) || attrs.name === v);
  return Object.entries(filters).every(([k, values]) =>
    values.some((v) => {
      switch (k) {
        case 'type':
          return e.Type === v;
        case 'event':
          return e.Action === v;
        case 'container':
          return named('container', v);
        case 'image':
          return named('image', v) || (e.Type === 'container' && attrs.image === v);
        case 'volume':
          return named('volume', v);
        case 'network':
          return named('network', v);
        case 'label':
          return labelMatches(attrs, v);
        default:
          return false;
      }
    }),
  );
}

/** Appends and reads events; one per engine database. */
export class EventJournal {
  constructor(private readonly db: EngineDb) {
    migrate(db, 'events', schema);
  }

  /** Records one event now. */
  append(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): void {
    const { lastInsertRowid } = this.db
      .prepare('INSERT INTO events (time_ms, type, action, actor_id, attributes) VALUES (?, ?, ?, ?, ?)')
      .run(Date.now(), type, action, id, JSON.stringify(attributes));
    if (Number(lastInsertRowid) % PRUNE_EVERY === 0)
      // Down to the limit less one batch, so the table never holds more than the limit.
      this.db
        .prepare('DELETE FROM events WHERE seq <= ?')
        .run(Number(lastInsertRowid) - (JOURNAL_LIMIT - PRUNE_EVERY));
  }

  /** Events so far that match `q`, oldest first. */
  list(q: EventQuery = {}): EngineEvent[] {
    const out: EngineEvent[] = [];
    for (let last = 0, rows = this.rowsAfter(0, q); rows.length; rows = this.rowsAfter(last, q)) {
      last = rows.at(-1)!.seq;
      for (const r of rows) {
        const e = fromRow(r);
        if (eventMatches(e, q.filters)) out.push(e);
      }
    }
    return out;
  }

  /**
   * Reads the matching events, then (without `until`) keeps reading new ones as other
   * processes append them, until `signal` aborts. With `until` in the future it follows up
   * to that time. Resolves when done; an abort ends it quietly.
   */
  async follow(q: EventQuery, emit: (e: EngineEvent) => void, signal?: AbortSignal): Promise<void> {
    let last = 0;
    const drain = () => {
      for (let rows = this.rowsAfter(last, q); rows.length; rows = this.rowsAfter(last, q))
        for (const r of rows) {
          last = r.seq;
          const e = fromRow(r);
          if (eventMatches(e, q.filters)) emit(e);
        }
    };
    drain();
    // The table is polled: cheap (one indexed query) and it sees every writer process.
    while (!signal?.aborted && (q.until === undefined || Date.now() < q.until)) {
      try {
        await sleep(FOLLOW_POLL_MS, undefined, { signal });
      } catch (e) {
        if (signal?.aborted) return;
        throw e;
      }
      drain();
    }
  }

  /** The next page of rows after `seq` in the time window (filters are applied by the callers). */
  private rowsAfter(seq: number, q: EventQuery): Row[] {
    return this.db
      .prepare('SELECT * FROM events WHERE seq > ? AND time_ms >= ? AND time_ms < ? ORDER BY seq LIMIT 1000')
      .all(seq, q.since ?? 0, q.until ?? Number.MAX_SAFE_INTEGER) as Row[];
  }
}
