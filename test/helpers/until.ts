import assert from 'node:assert/strict';

/**
 * Polls `ok` every 200 ms for up to `timeoutMs` (20 s); fails with `what` if it never holds.
 * The first check that holds ends the wait: a fact that was true need not still be true by the
 * time the check is run again (a controller may already have moved on). `what` may be a
 * function, so that the failure can show what the last check saw.
 */
export async function until(
  what: string | (() => string),
  ok: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // A check that throws counts as not yet (the object may not exist).
  while (Date.now() < deadline) {
    if (await ok().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  // One last check, unguarded, so that a check which throws shows its error.
  const held = await ok();
  assert.ok(held, typeof what === 'string' ? what : what());
}
