import type { Expectations } from './expectations.js';

/** The first batch of `slowStartBatch` (upstream's `SlowStartInitialBatchSize`). */
export const SLOW_START_INITIAL = 1;

/**
 * Runs `fn` `count` times in batches of 1, 2, 4, 8... (after kube-controller-manager's
 * `slowStartBatch`): each batch starts when the one before has finished without error, so
 * a template the API rejects costs one failed call, not hundreds, while a good one quickly
 * reaches full parallelism. Returns how many calls succeeded and the first error, if any;
 * calls after a failed batch are never made.
 */
export async function slowStartBatch(
  count: number,
  initial: number,
  fn: (i: number) => Promise<unknown>,
): Promise<{ done: number; error?: unknown; results: unknown[] }> {
  let done = 0;
  let started = 0;
  const results: unknown[] = [];
  for (let size = Math.min(count, initial); size > 0; size = Math.min(2 * size, count - started)) {
    const batch = await Promise.allSettled(Array.from({ length: size }, (_, j) => fn(started + j)));
    started += size;
    let error: unknown;
    for (const r of batch) {
      if (r.status === 'fulfilled') {
        done++;
        results.push(r.value);
      } else error ??= r.reason;
    }
    if (error !== undefined) return { done, error, results };
  }
  return { done, results };
}

/**
 * Creates `pods` for the owner `key` with expectations raised first and slow-start batching
 * (upstream's `manageReplicas`): creations that failed or were never tried are taken off the
 * expectations at once, since no watch event will ever report them. `onCreated` gets each
 * created object; the first error is thrown after the bookkeeping.
 */
export async function createPods<T>(
  key: string,
  exp: Expectations,
  items: readonly T[],
  create: (item: T) => Promise<unknown>,
  onCreated?: (created: unknown) => void,
): Promise<void> {
  if (items.length === 0) return;
  exp.expect(key, items.length, 0);
  const r = await slowStartBatch(items.length, SLOW_START_INITIAL, (i) => create(items[i]!));
  for (const c of r.results) onCreated?.(c);
  if (r.done < items.length) exp.observed(key, 'add', items.length - r.done);
  if (r.error !== undefined) throw r.error;
}
