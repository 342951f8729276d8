/**
 * The streams a front end connects to a container (attach, run, exec): in-memory streams,
 * sockets or its own terminal, never the engine process's stdio by default.
 */
import type { Readable, Writable } from 'node:stream';

/** A terminal's size in character cells. */
export interface TerminalSize {
  rows: number;
  columns: number;
}

/** What attach, run and exec connect. */
export interface ContainerStreams {
  /** Input for the container (forwarded only when the container keeps stdin open, `-i`). */
  stdin?: Readable;
  stdout: Writable;
  /** The container's stderr (with a TTY there is only one stream, written to `stdout`). */
  stderr: Writable;
  /** The terminal's size before the process starts (TTY containers). */
  initialSize?: TerminalSize;
  /**
   * Subscribes to terminal size changes: the engine passes a function to call with each new
   * size and gets back one that unsubscribes.
   */
  onResize?: (resize: (size: TerminalSize) => void) => () => void;
}

/**
 * How to hand a stream to a child process: its file descriptor when it has one (a terminal
 * stays a terminal for the runtime), else a pipe the caller connects.
 */
export function childStdio(s: Readable | Writable | undefined): 'ignore' | 'pipe' | number {
  if (!s) return 'ignore';
  const fd = (s as { fd?: unknown }).fd;
  return typeof fd === 'number' ? fd : 'pipe';
}
