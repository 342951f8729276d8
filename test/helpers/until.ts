import assert from 'node:assert/strict';

/** Polls `ok` every 200 ms for up to `timeoutMs` (20 s); fails with `what` if it never holds. */
export async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // A check that throws counts as not yet (the object may not exist); the last one's error shows.
  while (Date.now() < deadline && !(await ok().catch(() => false)))
    await new Promise((r) => setTimeout(r, 200));
  assert.ok(await ok(), what);
}
