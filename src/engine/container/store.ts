/**
 * Container records in the engine database: one row per container, created in one
 * transaction, changed by compare-and-set on `state` so that concurrent `berth` processes
 * (a `stop`, conmon's exit command, a `ps` reconciling) never undo each other.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { alreadyExists, invalidArgument, notFound } from '../../core/errors.js';
import { type EngineDb, migrate } from '../state/db.js';
import type { ContainerConfig } from './config.js';
import { validName } from './names.js';

/** Docker's container states. `removing` marks a row whose files are being deleted. */
export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** One container, as stored. Times are RFC 3339 strings; '' when not yet. */
export interface ContainerRecord {
  id: string;
  name: string;
  config: ContainerConfig;
  state: ContainerState;
  pid: number;
  exitCode: number;
  error: string;
  oomKilled: boolean;
  createdAt: string;
  startedAt: string;
  finishedAt: string;
  restartCount: number;
  /** Set by `stop`/`kill` so that `unless-stopped` and `always` policies know the user stopped it. */
  stoppedByUser: boolean;
  /** The runtime (name) used for the current or last run. */
  runtime: string;
}

/** The record of a container just created: never started, no exit, no restarts. */
export function createdRecord(
  id: string,
  name: string,
  config: ContainerConfig,
  runtime: string,
): ContainerRecord {
  return {
    id,
    name,
    config,
    state: 'created',
    pid: 0,
    exitCode: 0,
    error: '',
    oomKilled: false,
    createdAt: new Date().toISOString(),
    startedAt: '',
    finishedAt: '',
    restartCount: 0,
    stoppedByUser: false,
    runtime,
  };
}

interface Row {
  id: string;
  name: string;
  config: string;
  state: ContainerState;
  pid: number;
  exit_code: number;
  error: string;
  oom_killed: number;
  created_at: string;
  started_at: string;
  finished_at: string;
  restart_count: number;
  stopped_by_user: number;
  runtime: string;
}

const steps = [
  `CREATE TABLE containers (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     config TEXT NOT NULL,
     state TEXT NOT NULL,
     pid INTEGER NOT NULL DEFAULT 0,
     exit_code INTEGER NOT NULL DEFAULT 0,
     error TEXT NOT NULL DEFAULT '',
     oom_killed INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL,
     started_at TEXT NOT NULL DEFAULT '',
     finished_at TEXT NOT NULL DEFAULT '',
     restart_count INTEGER NOT NULL DEFAULT 0,
     stopped_by_user INTEGER NOT NULL DEFAULT 0,
     runtime TEXT NOT NULL DEFAULT ''
   )`,
  // The node agent selects a pod's containers by this label on every sync of the pod: without
  // an index each of those read every container's configuration (O(containers) per sync).
  `CREATE INDEX containers_pod_uid ON containers (json_extract(config, '$.labels."io.kubernetes.pod.uid"'))`,
];

const fromRow = (r: Row): ContainerRecord => ({
  id: r.id,
  name: r.name,
  config: JSON.parse(r.config) as ContainerConfig,
  state: r.state,
  pid: r.pid,
  exitCode: r.exit_code,
  error: r.error,
  oomKilled: r.oom_killed !== 0,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  restartCount: r.restart_count,
  stoppedByUser: r.stopped_by_user !== 0,
  runtime: r.runtime,
});

/** Fields a state change may set. */
export type ContainerUpdate = Partial<
  Pick<
    ContainerRecord,
    | 'state'
    | 'pid'
    | 'exitCode'
    | 'error'
    | 'oomKilled'
    | 'startedAt'
    | 'finishedAt'
    | 'restartCount'
    | 'stoppedByUser'
    | 'runtime'
  >
>;

const columns: Record<keyof ContainerUpdate, string> = {
  state: 'state',
  pid: 'pid',
  exitCode: 'exit_code',
  error: 'error',
  oomKilled: 'oom_killed',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  restartCount: 'restart_count',
  stoppedByUser: 'stopped_by_user',
  runtime: 'runtime',
};

/** The container table of one engine database. */
export class ContainerStore {
  /** Prepared statements by SQL: the node agent lists and updates containers on every pod sync. */
  private readonly statements = new Map<string, BetterSqlite3.Statement<unknown[]>>();

  constructor(private readonly db: EngineDb) {
    migrate(db, 'container', steps);
  }

  private q(sql: string): BetterSqlite3.Statement<unknown[]> {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare<unknown[]>(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /** Inserts a new record; a taken name is AlreadyExists (Docker's "Conflict" message). */
  insert(rec: ContainerRecord): void {
    try {
      this.q(
        `INSERT INTO containers (id, name, config, state, created_at, runtime) VALUES (?, ?, ?, ?, ?, ?)`,
      ).run(rec.id, rec.name, JSON.stringify(rec.config), rec.state, rec.createdAt, rec.runtime);
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw this.nameTaken(rec.name, e);
      throw e;
    }
  }

  /**
   * All records, newest first; with `labels`, only those carrying each label (with that value
   * when one is given), selected by SQLite before any record is parsed.
   */
  list(labels: readonly (readonly [string, string | undefined])[] = []): ContainerRecord[] {
    const where: string[] = [];
    const values: string[] = [];
    for (const [key, value] of labels) {
      // The key is a JSON path member, quoted; a label key holding a quote is matched in JS only.
      if (key.includes('"')) continue;
      // A plain key is written into the statement, so that an index on its expression (above)
      // can serve it; any other goes as a parameter.
      const plain = /^[\w./-]+$/.test(key);
      const path = plain
        ? `json_extract(config, '$.labels."${key}"')`
        : `json_extract(config, '$.labels."' || ? || '"')`;
      where.push(value === undefined ? `${path} IS NOT NULL` : `${path} = ?`);
      values.push(...(plain ? [] : [key]), ...(value === undefined ? [] : [value]));
    }
    const sql = `SELECT * FROM containers${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC`;
    return (this.q(sql).all(...values) as Row[]).map(fromRow);
  }

  /** Finds a container by full ID, unique ID prefix, or name; NotFound otherwise. */
  get(ref: string): ContainerRecord {
    const r = this.find(ref);
    if (!r) throw notFound(`No such container: ${ref}`);
    return r;
  }

  /** Like {@link get} but undefined when absent. */
  find(ref: string): ContainerRecord | undefined {
    const name = ref.replace(/^\//, '');
    const byName = this.q('SELECT * FROM containers WHERE name = ? OR id = ?').get(name, ref) as
      | Row
      | undefined;
    if (byName) return fromRow(byName);
    if (!/^[0-9a-f]{1,64}$/.test(ref)) return undefined;
    const rows = this.q("SELECT * FROM containers WHERE id LIKE ? || '%' LIMIT 2").all(ref) as Row[];
    if (rows.length > 1)
      throw invalidArgument(`Multiple containers match the ID prefix "${ref}"; give more of it`);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  /**
   * Sets fields, but only while the state is one of `ifStates` (when given). Returns the new
   * record, or undefined when another process changed the state first.
   */
  update(
    id: string,
    fields: ContainerUpdate,
    ifStates?: readonly ContainerState[],
  ): ContainerRecord | undefined {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [k, v] of Object.entries(fields) as [keyof ContainerUpdate, unknown][]) {
      sets.push(`${columns[k]} = ?`);
      values.push(typeof v === 'boolean' ? Number(v) : v);
    }
    let where = 'id = ?';
    values.push(id);
    if (ifStates) {
      where += ` AND state IN (${ifStates.map(() => '?').join(',')})`;
      values.push(...ifStates);
    }
    const tx = this.db.transaction(() => {
      const res = this.q(`UPDATE containers SET ${sets.join(', ')} WHERE ${where}`).run(...values);
      if (res.changes === 0) return undefined;
      return fromRow(this.q('SELECT * FROM containers WHERE id = ?').get(id) as Row);
    });
    return tx.immediate();
  }

  /** Replaces the container's configuration (network connect and disconnect change it). */
  setConfig(id: string, config: ContainerConfig): void {
    this.q('UPDATE containers SET config = ? WHERE id = ?').run(JSON.stringify(config), id);
  }

  /** Renames; the new name must be valid and free. */
  rename(id: string, name: string): void {
    if (!validName.test(name))
      throw invalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    try {
      this.q('UPDATE containers SET name = ? WHERE id = ?').run(name.replace(/^\//, ''), id);
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw this.nameTaken(name, e);
      throw e;
    }
  }

  /** Docker's words for a taken name (scripts match them), naming the container that holds it. */
  private nameTaken(name: string, cause: unknown): Error {
    const bare = name.replace(/^\//, '');
    const holder = this.q('SELECT id FROM containers WHERE name = ?').get(bare) as { id: string } | undefined;
    return alreadyExists(
      `Conflict. The container name "/${bare}" is already in use by container "${holder?.id ?? ''}". You have to remove (or rename) that container to be able to reuse that name.`,
      cause,
    );
  }

  /** IDs of the containers (any state) made from an image (`rmi` and `image prune` ask). */
  usersOfImage(imageId: string): { id: string; running: boolean }[] {
    return (
      this.db
        .prepare("SELECT id, state FROM containers WHERE json_extract(config, '$.imageId') = ?")
        .all(imageId) as { id: string; state: string }[]
    ).map((r) => ({ id: r.id, running: ['running', 'paused', 'restarting'].includes(r.state) }));
  }

  /** Deletes the record. */
  /** Deletes the record; false when it was already gone. */
  delete(id: string): boolean {
    return this.q('DELETE FROM containers WHERE id = ?').run(id).changes > 0;
  }
}
