/**
 * The SQLite datastore's writer thread. better-sqlite3 is synchronous, and a commit with
 * synchronous=FULL waits for an fsync: on the main thread that wait stops the whole API
 * server. Here it stops only this thread, while the main thread goes on serving reads,
 * watches and new requests (which queue up as the next batch: group commit for free).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openHighWater } from './high-water.js';
import { storeFiles } from './sqlite-check.js';
import { openDb, type WriteOp, type WriteOutcome, writer } from './sqlite-db.js';

/** Messages from the store to this thread. */
export type WriterRequest =
  | { type: 'batch'; id: number; ops: WriteOp[] }
  | { type: 'compact'; id: number; rev: number; checkpoint: boolean }
  | { type: 'close'; id: number };

/** Answers: a batch's outcomes and the revision after it, or an error for the whole request. */
export type WriterReply =
  | { id: number; outcomes: WriteOutcome[]; revision: number }
  | { id: number; done: true }
  | { id: number; error: string };

const path = (workerData as { path: string }).path;
// The store made the high-water record before starting this thread; 0 is never used.
const w = writer(openDb(path), openHighWater(storeFiles(path).highWater, 0));

parentPort?.on('message', (m: WriterRequest) => {
  try {
    if (m.type === 'batch') {
      const outcomes = w.apply(m.ops);
      parentPort?.postMessage({ id: m.id, outcomes, revision: w.revision() } satisfies WriterReply);
    } else if (m.type === 'compact') {
      w.compact(m.rev);
      if (m.checkpoint) w.checkpoint();
      parentPort?.postMessage({ id: m.id, done: true } satisfies WriterReply);
    } else {
      w.close();
      parentPort?.postMessage({ id: m.id, done: true } satisfies WriterReply);
      parentPort?.close();
    }
  } catch (e) {
    parentPort?.postMessage({ id: m.id, error: (e as Error)?.message ?? String(e) } satisfies WriterReply);
  }
});
