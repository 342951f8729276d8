/**
 * The terminal sizes a client sends during an exec or attach, whichever protocol carries them
 * (a WebSocket channel or a SPDY stream): the session waits for the first before it starts a
 * TTY, and the runtime subscribes later, so the latest size is replayed to each subscriber.
 */
import type { TerminalSize } from '../runtime.js';

/** Reads one resize message (`{"Width":W,"Height":H}`); throws on text that is not JSON. */
export function parseTerminalSize(text: string): TerminalSize {
  const s = JSON.parse(text) as { Width?: number; Height?: number };
  return { rows: Number(s.Height ?? 0), columns: Number(s.Width ?? 0) };
}

export class TerminalSizes {
  private readonly subscribers = new Set<(s: TerminalSize) => void>();
  private latest: TerminalSize | undefined;
  private settleFirst: (s: TerminalSize | undefined) => void = () => undefined;
  /** The first size, or undefined when the client goes away before it sends one. */
  readonly first = new Promise<TerminalSize | undefined>((r) => {
    this.settleFirst = r;
  });

  /** A size the client sent. */
  push(size: TerminalSize): void {
    this.latest = size;
    this.settleFirst(size);
    for (const fn of this.subscribers) fn(size);
  }

  /** The client went away: a first size still awaited will not come. */
  end(): void {
    this.settleFirst(undefined);
  }

  /**
   * Calls `fn` with every size from now on, and at once with the latest one: sizes that came
   * before the subscription are not lost (kubectl attach sends two at once, one larger to force
   * a redraw, then the real one). Returns the unsubscriber.
   */
  readonly onResize = (fn: (s: TerminalSize) => void): (() => void) => {
    this.subscribers.add(fn);
    if (this.latest) fn(this.latest);
    return () => this.subscribers.delete(fn);
  };
}
