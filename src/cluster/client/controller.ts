import { logger } from '../../core/log.js';
import type { Informer } from './informer.js';
import { WorkQueue } from './work-queue.js';

const log = logger('controller');

/**
 * Resolves once every informer has listed once (client-go's `WaitForNamedCacheSync`), or
 * with false when `signal` aborts first.
 */
export async function waitForCacheSync(
  name: string,
  informers: readonly Informer[],
  signal?: AbortSignal,
): Promise<boolean> {
  if (signal?.aborted) return false;
  const aborted = new Promise<false>((resolve) => signal?.addEventListener('abort', () => resolve(false)));
  const synced = Promise.all(informers.map((i) => i.hasSynced())).then(() => true as const);
  const ok = await Promise.race([synced, aborted]);
  if (ok)
    log.debug('caches synced', { controller: name, informers: informers.map((i) => i.resource.plural) });
  return ok;
}

/**
 * The runner of one controller (after client-go's controller loop): it knows the informers
 * the controller reads and its work queues, which hold keys from the first events on but
 * start their workers only once every one of those informers has synced. Without that, a
 * ReplicaSet listed before its pods looks empty and gets its pods twice, which is exactly the
 * order a restart or a leader failover produces.
 */
export class Controller {
  private readonly informers = new Set<Informer>();
  private readonly queues: WorkQueue[] = [];
  private readonly abort = new AbortController();

  constructor(readonly name: string) {}

  /** Marks `inf` as read by this controller: its workers wait for its first list. */
  uses(inf: Informer): Informer {
    this.informers.add(inf);
    return inf;
  }

  /** A work queue that starts when this controller's informers have synced. */
  queue(sync: (key: string) => Promise<void>, workers = 4): WorkQueue {
    const q = new WorkQueue(sync, { name: this.name, workers, paused: true });
    this.queues.push(q);
    return q;
  }

  /** Waits for the caches, then starts the workers; false if stopped first. */
  async run(): Promise<boolean> {
    if (!(await waitForCacheSync(this.name, [...this.informers], this.abort.signal))) return false;
    for (const q of this.queues) q.start();
    return true;
  }

  stop(): void {
    this.abort.abort();
    for (const q of this.queues) q.stop();
  }
}
