import type { Worker } from 'node:worker_threads';
import { localHash, type StreamHash } from './sha256-stream.js';
import { startWorker } from './worker.js';

/** Asks of the hashing thread (sha256-thread.ts). */
export type HashRequest =
  | { op: 'update'; id: number; slot: number; memory: SharedArrayBuffer; length: number }
  | { op: 'digest' | 'drop'; id: number };
/** Its answers: a slot it has hashed, or a stream's digest. */
export type HashReply = { op: 'done'; slot: number } | { op: 'digest'; id: number; hex: string };

/** Slices of shared memory in flight to the thread, at most: the bound on what it may lag behind. */
const SLOTS = 16;
const SLOT_BYTES = 1 << 20;
/** A thread with no open hash for this long ends, and its memory goes (long-lived processes pull rarely). */
const IDLE_MS = 2_000;

/**
 * SHA-256 of large streams (pulled layers, compressed and not) on a worker thread, so that
 * the JavaScript thread, which also runs the streams, the tar reader and the HTTP client,
 * is not the one doing the hashing: in a pull it is the busiest thread, and hashing was a
 * third of its work. Chunks are copied into slots of shared memory (a copy costs a tenth of
 * hashing the bytes); with every slot in flight, `update` returns a promise to wait for, which
 * bounds the memory. One thread serves the whole process; it keeps the process alive only
 * while a hash is open, and ends after two idle seconds. Where the thread cannot start (a bundle without its file), hashing
 * happens here, as before.
 */
export function offThreadHash(): StreamHash {
  const thread = hashThread();
  return thread ? thread.open() : localHash();
}

let shared: HashThread | undefined;
let unavailable = false;

function hashThread(): HashThread | undefined {
  if (shared || unavailable) return shared;
  const worker = startWorker(import.meta.url, 'sha256-thread', undefined);
  if (!worker) {
    unavailable = true;
    return undefined;
  }
  shared = new HashThread(worker);
  return shared;
}

class HashThread {
  private readonly free: { slot: number; memory: SharedArrayBuffer }[] = [];
  private readonly inUse = new Map<number, SharedArrayBuffer>();
  private readonly waiting: (() => void)[] = [];
  private readonly digests = new Map<
    number,
    { resolve: (hex: string) => void; reject: (e: Error) => void }
  >();
  private open_ = 0;
  private nextId = 1;
  private failure: Error | undefined;
  private idle: NodeJS.Timeout | undefined;

  constructor(private readonly worker: Worker) {
    for (let slot = 0; slot < SLOTS; slot++)
      this.free.push({ slot, memory: new SharedArrayBuffer(SLOT_BYTES) });
    worker.unref();
    worker.on('message', (m: HashReply) => {
      if (m.op === 'done') {
        this.free.push({ slot: m.slot, memory: this.inUse.get(m.slot)! });
        this.inUse.delete(m.slot);
        this.waiting.shift()?.();
        return;
      }
      this.digests.get(m.id)?.resolve(`sha256:${m.hex}`);
      this.digests.delete(m.id);
    });
    // A thread that died fails every open hash (their streams fail with it); the next pull starts a new one.
    const fail = (e: Error) => {
      this.failure ??= e;
      if (shared === this) shared = undefined;
      for (const d of this.digests.values()) d.reject(e);
      this.digests.clear();
      for (const w of this.waiting.splice(0)) w();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the hashing thread exited (code ${code})`)));
  }

  open(): StreamHash {
    const id = this.nextId++;
    this.hold(1);
    let closed = false;
    return {
      update: (chunk) => {
        if (closed) throw new Error('the hash was already closed');
        return this.send(id, chunk, 0);
      },
      digest: () => {
        if (closed) return Promise.reject(new Error('the hash was already closed'));
        closed = true;
        // The thread stays held until the answer is in: nothing else may be keeping the process alive.
        const answer = this.failure
          ? Promise.reject(this.failure)
          : new Promise<string>((resolve, reject) => {
              this.digests.set(id, { resolve, reject });
              this.post({ op: 'digest', id });
            });
        return answer.finally(() => this.hold(-1));
      },
      drop: () => {
        if (closed) return;
        closed = true;
        if (!this.failure) this.post({ op: 'drop', id });
        this.hold(-1);
      },
    };
  }

  /** Sends `chunk` from `from` on in slot-sized pieces; a promise when it had to wait for a slot. */
  private send(id: number, chunk: Uint8Array, from: number): Promise<void> | undefined {
    for (let at = from; at < chunk.length; ) {
      if (this.failure) return Promise.reject(this.failure);
      const s = this.free.pop();
      if (!s)
        return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() =>
          this.send(id, chunk, at),
        );
      const length = Math.min(SLOT_BYTES, chunk.length - at);
      new Uint8Array(s.memory, 0, length).set(chunk.subarray(at, at + length));
      this.inUse.set(s.slot, s.memory);
      this.post({ op: 'update', id, slot: s.slot, memory: s.memory, length });
      at += length;
    }
    return undefined;
  }

  private post(m: HashRequest): void {
    this.worker.postMessage(m);
  }

  /** Keeps the process alive while hashes are open, and only then; an idle thread ends. */
  private hold(delta: number): void {
    this.open_ += delta;
    clearTimeout(this.idle);
    this.idle = undefined;
    if (this.open_ === 1 && delta > 0) this.worker.ref();
    if (this.open_ > 0) return;
    this.worker.unref();
    this.idle = setTimeout(() => {
      if (shared === this) shared = undefined;
      void this.worker.terminate();
    }, IDLE_MS).unref();
  }
}
