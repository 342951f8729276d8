/**
 * The CLI's side of the engine facade: opening it from the global flags, and what only a
 * terminal front end does (raw mode, size changes, forwarding this process's signals).
 */
import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { BerthError } from '../core/errors.js';
import { selfCommand } from '../core/self-command.js';
import { type ContainerStreams, type Engine, openEngine } from '../engine/engine.js';

/**
 * Opens the engine named by the global `--root` and `--runroot` and runs `fn`. The engine is
 * left open for the process's end (src/cli/main.ts ends it without closing the database):
 * closing the last connection to the store checkpoints its write-ahead log into the database
 * and deletes it, two fsyncs, and the next command pays a third to start a new log. Left
 * open, the log carries over to the next command, and SQLite checkpoints it when it has
 * grown (every 1000 pages); a committed transaction is in the log either way.
 */
export async function withEngine<T>(cmd: Command, fn: (engine: Engine) => Promise<T> | T): Promise<T> {
  const g = cmd.optsWithGlobals() as { root: string; runroot: string };
  return await fn(openEngine({ root: g.root, runroot: g.runroot, self: selfCommand([]) }));
}

/** This terminal's size, when stdout is one. */
const terminalSize = () =>
  process.stdout.isTTY && process.stdout.rows && process.stdout.columns
    ? { rows: process.stdout.rows, columns: process.stdout.columns }
    : undefined;

/** This process's stdio as container streams, and how to put the terminal back afterwards. */
export interface TerminalSession {
  streams: ContainerStreams;
  /** Puts the terminal in raw mode (when it will be the container's): once the container runs. */
  begin(): void;
  /** Restores the terminal and lets stdin go (so the process can exit). */
  end(): void;
}

/**
 * Connects this process's stdio: stdin only with `interactive`; with `tty` and a terminal on
 * stdin, raw mode (keys go to the container as typed) and size changes follow the window.
 */
export function terminalSession(o: { interactive: boolean; tty: boolean }): TerminalSession {
  const raw = o.interactive && o.tty && process.stdin.isTTY;
  let rawOn = false;
  const size = o.tty ? terminalSize() : undefined;
  return {
    streams: {
      ...(o.interactive ? { stdin: process.stdin } : {}),
      stdout: process.stdout,
      stderr: process.stderr,
      ...(size ? { initialSize: size } : {}),
      ...(size
        ? {
            onResize: (resize) => {
              const onResize = () => {
                const s = terminalSize();
                if (s) resize(s);
              };
              process.stdout.on('resize', onResize);
              return () => process.stdout.off('resize', onResize);
            },
          }
        : {}),
    },
    begin() {
      if (raw && !rawOn) {
        process.stdin.setRawMode(true);
        // libuv's raw mode keeps output post-processing (ONLCR), so the container's own
        // pty's \r\n would arrive as \r\r\n; a real raw mode (cfmakeraw's, as Docker's
        // CLI sets) turns it off. setRawMode(false) puts back the saved settings.
        const r = spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'pipe'], encoding: 'utf8' });
        if (r.status !== 0)
          process.stderr.write(`Cannot set the terminal raw: ${r.stderr || r.error?.message}\n`);
      }
      rawOn = raw;
    },
    end() {
      if (rawOn) process.stdin.setRawMode(false);
      if (o.interactive) process.stdin.destroy();
    },
  };
}

const PROXIED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * Docker's sig-proxy: signals this process gets go to the container's process (not with a
 * TTY, where the terminal itself sends them). Returns the function that stops forwarding.
 */
export function proxySignals(engine: Engine, id: string, tty: boolean): () => void {
  if (tty) return () => {};
  const forward = (sig: NodeJS.Signals) => void engine.containers.signal(id, sig);
  for (const s of PROXIED) process.on(s, forward);
  return () => {
    for (const s of PROXIED) process.off(s, forward);
  };
}

/**
 * Runs a long operation that Ctrl-C (or SIGTERM) cancels through its signal, so it stops
 * its work and cleans up before the process exits, instead of dying halfway.
 */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  let got: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    got = sig;
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(stop.signal);
  } catch (e) {
    if (!got) throw e;
    // Cancelled by the user: the shell's status for death by that signal (130 for Ctrl-C).
    throw Object.assign(new BerthError('Canceled', `Interrupted by ${got}`, { cause: e }), {
      exitCode: 128 + (got === 'SIGINT' ? 2 : 15),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
