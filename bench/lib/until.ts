/**
 * Waits for a fact a benchmark needs before it measures (pods running, rules programmed, a
 * server answering): polls `ok` every `everyMs` (250 ms) and throws naming `what` after
 * `timeoutMs` (3 minutes: set-up on a loaded machine can take that long). A check that throws
 * ends the wait with its error, unless `tolerateErrors` says that a throw means "not yet" (a
 * server still starting refuses connections); the last such error is then part of the timeout's.
 */
export async function until(
  what: string,
  ok: () => Promise<boolean>,
  options: { timeoutMs?: number; everyMs?: number; tolerateErrors?: boolean } = {},
): Promise<void> {
  const { timeoutMs = 180_000, everyMs = 250, tolerateErrors = false } = options;
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  const check = tolerateErrors
    ? () =>
        ok().catch((e: unknown) => {
          lastError = e;
          return false;
        })
    : ok;
  while (!(await check())) {
    if (Date.now() > end) {
      const why =
        lastError === undefined ? '' : ` (last check failed: ${(lastError as Error).message ?? lastError})`;
      throw new Error(`timed out waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
