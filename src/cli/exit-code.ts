import { errorCode } from '../core/errors.js';

/**
 * The process exit status for an error, as Docker's CLI sets it: 125 when the engine itself
 * failed, 126 when the container command cannot be invoked, 127 when it is not found. An
 * error may carry its own status (for example `run` returning the container's exit code).
 */
export function exitCodeFor(err: unknown): number {
  const own = (err as { exitCode?: unknown } | null)?.exitCode;
  if (typeof own === 'number' && Number.isInteger(own)) return own;
  errorCode(err);
  return 125;
}
