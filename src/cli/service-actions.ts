/** `berth system service`: the Docker Engine API socket over one engine opened for its whole life. */
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { withEngine } from './engine.js';

declare const BERTH_VERSION: string;

export async function serviceAction(uri: string | undefined, flags: { time?: string }, cmd: Command) {
  const idleSeconds = Number(flags.time ?? 0);
  if (!Number.isInteger(idleSeconds) || idleSeconds < 0)
    throw invalidArgument(`Invalid --time "${flags.time}": use a whole number of seconds (0 for never)`);
  const { serveDockerApi, socketPath, DEFAULT_URI } = await import('../engine/dockerapi/server.js');
  // A bad URI is refused before the engine is opened.
  socketPath(uri ?? DEFAULT_URI);
  // A long-lived process: commands start from a small helper (src/core/spawner.ts).
  (await import('../core/exec.js')).runCommandsThroughHelper();
  // SIGINT and SIGTERM are how a service is stopped: it closes the socket and exits 0.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await withEngine(cmd, (engine) =>
      serveDockerApi(engine, {
        ...(uri ? { uri } : {}),
        idleSeconds,
        version: typeof BERTH_VERSION === 'string' ? BERTH_VERSION : 'dev',
        signal: stop.signal,
        onListening: (path) => process.stderr.write(`Serving the Docker API on unix://${path}\n`),
      }),
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
