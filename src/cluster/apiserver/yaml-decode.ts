/**
 * YAML request bodies: JSON first (YAML's subset, which kubectl sends even as
 * application/apply-patch+yaml), small YAML on the spot, large YAML on a thread of its own
 * (yaml-thread.ts) so that seconds of parsing do not stall every other request.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../core/worker.js';
import { duplicateFields } from '../api/json-duplicates.js';
import { duplicateFieldMessage } from './strict.js';
import { parseYaml } from './yaml-options.js';
import type { YamlReply, YamlRequest } from './yaml-thread.js';

/** Below this many characters, parsing on the main thread costs less than a trip to the thread. */
const inlineChars = 64 * 1024;
const idleMs = 2000;

export type Parsed = { value: unknown; duplicates: string[] };

export class YamlDecoder {
  private worker: Worker | undefined;
  private next = 0;
  private idle: NodeJS.Timeout | undefined;
  private readonly waiting = new Map<number, { resolve: (v: Parsed) => void; reject: (e: Error) => void }>();

  /**
   * Parses `text`; a syntax error rejects with the parser's message. `duplicates` describes
   * each key given twice in a map (a JSON text's as JSON duplicates, YAML's by line).
   */
  async parse(text: string): Promise<Parsed> {
    if (/^\s*[[{]/.test(text)) {
      try {
        const value: unknown = JSON.parse(text);
        return { value, duplicates: duplicateFields(text).map(duplicateFieldMessage) };
      } catch (e) {
        // Not JSON after all (YAML flow style); the YAML parser decides below.
        void e;
      }
    }
    const worker = text.length < inlineChars ? undefined : this.thread();
    if (!worker) return parseYaml(text);
    const id = this.next++;
    clearTimeout(this.idle);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, text } satisfies YamlRequest);
    });
  }

  /** Large YAML bodies are rare: the thread goes after a few idle seconds, and starts again when needed. */
  private idleSoon(w: Worker): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (this.worker !== w || this.waiting.size) return;
      this.worker = undefined;
      void w.terminate();
    }, idleMs);
    this.idle.unref();
  }

  /** The thread, started on first use; undefined in a bundle built without it. */
  private thread(): Worker | undefined {
    if (this.worker) return this.worker;
    const w = startWorker(import.meta.url, 'yaml-thread', undefined);
    if (!w) return undefined;
    // Idle, it must not keep the process alive.
    w.unref();
    w.on('message', (m: YamlReply) => {
      const p = this.waiting.get(m.id);
      if (!p) return;
      this.waiting.delete(m.id);
      if ('error' in m) p.reject(new Error(m.error));
      else p.resolve({ value: m.value, duplicates: m.duplicates });
      if (!this.waiting.size) this.idleSoon(w);
    });
    const fail = (err: Error) => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.waiting.values()) p.reject(err);
      this.waiting.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the YAML parser thread exited with code ${code}`)));
    this.worker = w;
    return w;
  }
}
