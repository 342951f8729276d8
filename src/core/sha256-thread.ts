/**
 * The worker thread behind sha256-off-thread.ts: it keeps one SHA-256 state per stream id
 * and hashes the slices of shared memory it is sent, answering each with `done` (the slice
 * may be reused) and each `digest` with the hex digest.
 */
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import type { HashReply, HashRequest } from './sha256-off-thread.js';

const states = new Map<number, Hash>();
const port = parentPort!;

port.on('message', (m: HashRequest) => {
  if (m.op === 'update') {
    let h = states.get(m.id);
    if (!h) {
      h = createHash('sha256');
      states.set(m.id, h);
    }
    h.update(new Uint8Array(m.memory, 0, m.length));
    port.postMessage({ op: 'done', slot: m.slot } satisfies HashReply);
    return;
  }
  const h = states.get(m.id);
  states.delete(m.id);
  if (m.op === 'digest')
    port.postMessage({
      op: 'digest',
      id: m.id,
      hex: (h ?? createHash('sha256')).digest('hex'),
    } satisfies HashReply);
});
