/** `berth system service`: the Docker Engine API socket over one engine opened for its whole life. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import type { TlsFiles } from '../engine/dockerapi/server.js';
import { withEngine } from './engine.js';

declare const BERTH_VERSION: string;

interface ServiceFlags {
  time?: string;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

/** The TLS files the flags name, read now; undefined without --tlsverify (and then no --tls* flag may be given). */
function tlsFiles(flags: ServiceFlags): TlsFiles | undefined {
  const named = { tlscacert: flags.tlscacert, tlscert: flags.tlscert, tlskey: flags.tlskey };
  if (!flags.tlsverify) {
    const stray = Object.entries(named).find(([, v]) => v !== undefined);
    if (stray)
      throw invalidArgument(`--${stray[0]} needs --tlsverify: the service checks every client's certificate`);
    return undefined;
  }
  const read = (flag: string, file: string | undefined) => {
    if (!file) throw invalidArgument(`--tlsverify needs --${flag}`);
    try {
      return readFileSync(file);
    } catch (e) {
      throw invalidArgument(`Cannot read --${flag} "${file}": ${(e as Error).message}`, e);
    }
  };
  return {
    ca: read('tlscacert', flags.tlscacert),
    cert: read('tlscert', flags.tlscert),
    key: read('tlskey', flags.tlskey),
  };
}

export async function serviceAction(uri: string | undefined, flags: ServiceFlags, cmd: Command) {
  const idleSeconds = Number(flags.time ?? 0);
  if (!Number.isInteger(idleSeconds) || idleSeconds < 0)
    throw invalidArgument(`Invalid --time "${flags.time}": use a whole number of seconds (0 for never)`);
  const { serveDockerApi, listenAddress, DEFAULT_URI } = await import('../engine/dockerapi/server.js');
  const tls = tlsFiles(flags);
  // A bad URI is refused before the engine is opened.
  listenAddress(uri ?? DEFAULT_URI, !!tls);
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
        ...(tls ? { tls } : {}),
        idleSeconds,
        version: typeof BERTH_VERSION === 'string' ? BERTH_VERSION : 'dev',
        signal: stop.signal,
        onListening: (at) => process.stderr.write(`Serving the Docker API on ${at}\n`),
      }),
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
