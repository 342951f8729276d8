import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { ensurePrivateDir, ensurePrivateFile } from '../../core/private-path.js';
import { openSqlite } from '../../core/sqlite.js';

/** The engine's metadata database (one SQLite file under the root), shared by every `berth` process. */
export type EngineDb = BetterSqlite3.Database;

/**
 * Opens ROOT/berth.db. Many `berth` commands run at once, each its own process, so the file is
 * in WAL mode with a generous busy timeout: writers queue instead of failing with "database is
 * locked", and a `kill -9` at any point leaves either the old or the new state (SQLite's own
 * transactions). Each part of the engine owns its tables and creates them with {@link migrate}.
 */
export function openEngineDb(root: string): EngineDb {
  // The database holds container environments and registry logins: root only.
  ensurePrivateDir(root);
  const file = join(root, 'berth.db');
  ensurePrivateFile(file, [`${file}-wal`, `${file}-shm`]);
  const db = openSqlite(file, { timeout: 30_000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // CLI commands leave the WAL for the next one (src/cli/engine.ts), and a command that is
  // the store's only user re-reads the whole WAL when it opens it: 256 pages (1 MB) bound
  // that read to about a millisecond, against a checkpoint every 30 or so `run --rm`.
  db.pragma('wal_autocheckpoint = 256');
  db.pragma('foreign_keys = ON');
  reusePreparedStatements(db);
  return db;
}

/** Statements compiled and kept per database at most: SQL texts are the code's own, a few dozen. */
const MAX_STATEMENTS = 500;

/**
 * Makes `db.prepare` return the statement it compiled before for the same SQL. The stores
 * prepare their statements at each call, and a long-lived process (the node agent, which
 * lists networks, images, snapshots and ports for every pod it starts) compiled the same few
 * dozen again and again: about 4 ms of CPU per pod start. A statement is then shared by every
 * caller, so the calls that would change it for all of them (pluck, raw, expand, bind) throw;
 * none is used on the engine's database.
 */
function reusePreparedStatements(db: EngineDb): void {
  const compile = db.prepare.bind(db);
  const kept = new Map<string, BetterSqlite3.Statement>();
  const shared = () => {
    throw new Error(
      'A statement of the engine database is shared: pluck, raw, expand and bind are not allowed',
    );
  };
  db.prepare = ((sql: string) => {
    let st = kept.get(sql);
    if (!st) {
      if (kept.size >= MAX_STATEMENTS) kept.clear();
      st = compile(sql);
      Object.assign(st, { pluck: shared, raw: shared, expand: shared, bind: shared });
      kept.set(sql, st);
    }
    return st;
  }) as EngineDb['prepare'];
}

/**
 * Applies a component's schema steps once each, in order, inside one immediate transaction
 * (so two processes opening a fresh store at once do not both apply them).
 */
export function migrate(db: EngineDb, component: string, steps: readonly string[]): void {
  // Each store made on a database migrates it (the agent makes some for every pod): a
  // component found current once in this process stays so, since versions only go up.
  const known = migrated.get(db)?.get(component);
  if (known !== undefined && known >= steps.length) return;
  // The common case (schema current) must not take the write lock: every command migrates,
  // and many run at once.
  const current = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'")
    .get()
    ? (db.prepare('SELECT version FROM schema_versions WHERE component = ?').get(component) as
        | { version: number }
        | undefined)
    : undefined;
  if (current && current.version >= steps.length) {
    noteMigrated(db, component, current.version);
    return;
  }
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)',
  );
  const apply = db.transaction(() => {
    const row = db.prepare('SELECT version FROM schema_versions WHERE component = ?').get(component) as
      | { version: number }
      | undefined;
    const have = row?.version ?? 0;
    for (let i = have; i < steps.length; i++) db.exec(steps[i]!);
    if (steps.length > have) {
      db.prepare(
        'INSERT INTO schema_versions (component, version) VALUES (?, ?) ON CONFLICT(component) DO UPDATE SET version = excluded.version',
      ).run(component, steps.length);
    }
  });
  apply.immediate();
  noteMigrated(db, component, steps.length);
}

/** The component versions each open database is known to have reached (see migrate). */
const migrated = new WeakMap<EngineDb, Map<string, number>>();

function noteMigrated(db: EngineDb, component: string, version: number): void {
  const m = migrated.get(db) ?? new Map<string, number>();
  migrated.set(db, m.set(component, version));
}
