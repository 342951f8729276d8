/**
 * Keeps an in-memory view of one key prefix of the store current for an authorizer: a list,
 * then a watch from that revision, listing again (after a second) when the watch fails, as
 * an informer does. Resolves once the first list is in, so the view is complete before the
 * API serves a request.
 */
import { logger } from '../../../core/log.js';
import type { KeyValue, Store, Watch, WatchEvent } from '../../store/store.js';

const log = logger('apiserver');

export interface FeedTarget {
  /** One stored value, or its deletion (`deleted`, with the last value). */
  apply(kv: KeyValue, deleted: boolean): void;
  /** A list is in: `keys` are every key it held, read at `revision`; anything else is gone. */
  listed(keys: Set<string>, revision: number): void;
}

/** Lists and watches `prefix` into `target`; `what` names it in log lines. */
export async function feedFromPrefix(
  store: Store,
  prefix: string,
  target: FeedTarget,
  what: string,
): Promise<{ stop(): void }> {
  let watch: Watch | undefined;
  let stopped = false;
  const onEvents = (events: WatchEvent[]) => {
    for (const e of events) target.apply(e.kv, e.type === 'delete');
  };
  const start = async (): Promise<void> => {
    if (stopped) return;
    const list = await store.list(prefix);
    const keys = new Set<string>();
    for (const kv of list.items) {
      keys.add(kv.key);
      target.apply(kv, false);
    }
    target.listed(keys, list.revision);
    if (stopped) return;
    watch = store.watch(prefix, list.revision, {
      onEvents,
      onError: (err) => {
        if (stopped) return;
        log.warn(`${what} watch failed; listing again`, { err });
        setTimeout(() => void start().catch((e) => log.error(`${what} relist failed`, { err: e })), 1000);
      },
    });
  };
  await start();
  return {
    stop() {
      stopped = true;
      watch?.close();
    },
  };
}
