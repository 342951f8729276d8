/**
 * What must hold before the SQLite datastore opens: its file is sound, and it holds every
 * revision acknowledged to a client (high-water.ts). Either failure stops the start with a
 * message naming the files and what to do: serving from a damaged or shortened history would
 * hand out revisions that clients already saw for other objects.
 */
import { chmodSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { BerthError } from '../../../core/errors.js';
import { readHighWater } from './high-water.js';

const require = createRequire(import.meta.url);

/** The files of the datastore at `path`: the database, SQLite's two, and the high-water record. */
export const storeFiles = (path: string) => ({
  db: path,
  wal: `${path}-wal`,
  shm: `${path}-shm`,
  highWater: `${path}.acked`,
});

/** Forces mode 0600 on whichever of the datastore's files exist (they may predate this rule). */
export function restrictStoreFiles(path: string): void {
  for (const f of Object.values(storeFiles(path))) if (existsSync(f)) chmodSync(f, 0o600);
}

/** Is this an error SQLite raises for a damaged file? */
export function isCorruption(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

/** The error for a damaged database file, saying what to do about it. */
export function corrupted(path: string, detail: string): BerthError {
  return new BerthError(
    'FailedPrecondition',
    `The datastore file ${path} is damaged (${detail}): stop here and restore ${dirname(path)} from a backup (then start once with --datastore-accept-data-loss), or move ${dirname(path)} away to start an empty cluster`,
  );
}

/**
 * Checks the datastore at `path` and returns the recorded high-water revision. Runs on a
 * read-only connection, so a refusal leaves the WAL as it found it (a read-write connection
 * would checkpoint what SQLite could read and drop the rest on close). With `acceptDataLoss`,
 * a database behind its record is let through; the caller then numbers new writes after the
 * record, so no revision is handed out twice.
 */
export function checkStore(path: string, acceptDataLoss: boolean): number {
  restrictStoreFiles(path);
  const files = storeFiles(path);
  const acked = readHighWater(files.highWater);
  let revision = 0;
  if (existsSync(path)) {
    const Database = require('better-sqlite3') as typeof BetterSqlite3;
    let db: BetterSqlite3.Database | undefined;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
      const problems = (db.pragma('quick_check') as { quick_check: string }[]).map((r) =>
        r.quick_check.replace(/\s+/g, ' '),
      );
      if (problems[0] !== 'ok') throw corrupted(path, `quick_check: ${problems.slice(0, 3).join('; ')}`);
      const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
      if (hasMeta)
        revision =
          (db.prepare("SELECT value FROM meta WHERE name = 'revision'").pluck().get() as number) ?? 0;
    } catch (e) {
      if (isCorruption(e)) throw corrupted(path, (e as Error).message);
      throw e;
    } finally {
      db?.close();
    }
  }
  if (revision < acked && !acceptDataLoss)
    throw new BerthError(
      'FailedPrecondition',
      `The datastore ${path} ends at revision ${revision}, but revision ${acked} was acknowledged to clients (recorded in ${files.highWater}): ${acked - revision} acknowledged revisions are missing, most likely because its write-ahead log ${files.wal} was damaged. Restore ${dirname(path)} from a backup, then start once with --datastore-accept-data-loss; or start with --datastore-accept-data-loss to serve what is left (new revisions continue after ${acked}); or move ${dirname(path)} away to start an empty cluster`,
    );
  return acked;
}
