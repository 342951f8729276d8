import assert from 'node:assert/strict';

/** Polls `ok` every 200 ms for up to 20 s; fails with `what` if it never holds. */
export async function until(what: string, ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100 && !(await ok()); i++) await new Promise((r) => setTimeout(r, 200));
  assert.ok(await ok(), what);
}
