/**
 * Terminal sizes for a TTY exec relayed by `script` (exec.ts): the runtime copies the size of
 * the terminal it runs on (script's pseudo-terminal) to the container's console when it
 * starts and again on each SIGWINCH. So the first size is set by the shell script runs,
 * before it execs the runtime, and later sizes are set on script's pseudo-terminal from
 * outside with `stty -F`, which makes the kernel send SIGWINCH to the runtime. crun does not
 * pass that on, so with it the command's own terminal is sized instead.
 */
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../../core/exec.js';
import { logger } from '../../core/log.js';
import type { TerminalSize } from './streams.js';

const log = logger('exec');

/** A size a terminal can take: whole rows and columns, both above zero. */
export const validSize = (s: TerminalSize | undefined): s is TerminalSize =>
  !!s && Number.isInteger(s.rows) && Number.isInteger(s.columns) && s.rows > 0 && s.columns > 0;

/** The shell words that size script's terminal before the runtime starts ('' without a size). */
export function initialSizeCommand(size: TerminalSize | undefined): string {
  return validSize(size) ? `stty rows ${size.rows} cols ${size.columns} 2>/dev/null; ` : '';
}

/** The pseudo-terminal script gave its child (the child's stdin), or undefined before it exists. */
function ptyOfScript(scriptPid: number): string | undefined {
  try {
    const children = readFileSync(`/proc/${scriptPid}/task/${scriptPid}/children`, 'utf8')
      .trim()
      .split(/\s+/);
    for (const pid of children.filter(Boolean)) {
      const tty = readlinkSync(`/proc/${pid}/fd/0`);
      if (tty.startsWith('/dev/pts/')) return tty;
    }
  } catch (e) {
    // The exec ended (or has not forked yet): there is no terminal to size.
    log.debug('no terminal to size', { pid: scriptPid, err: e as Error });
  }
  return undefined;
}

/** How long a resize waits for script to fork the child whose terminal it sizes. */
const FORK_WAIT_MS = 2000;

/**
 * The terminal of script's child, waiting briefly for script to fork it: a client may resize
 * as soon as the exec starts, before the child exists, and nothing signals the fork.
 */
async function waitForPty(scriptPid: number): Promise<string | undefined> {
  const deadline = Date.now() + FORK_WAIT_MS;
  for (;;) {
    const tty = ptyOfScript(scriptPid);
    if (tty || Date.now() >= deadline || !existsSync(`/proc/${scriptPid}`)) return tty;
    await sleep(20);
  }
}

/** Sets the size of the terminal of script `scriptPid`'s child (resizes are queued in order). */
export function ptyResizer(scriptPid: number): (size: TerminalSize) => void {
  let found: string | undefined;
  return sttyResizer(async () => {
    found ??= await waitForPty(scriptPid);
    return found;
  });
}

/**
 * Sets the size of the command's own terminal (its stdin, the container's pseudo-terminal), once
 * `pid` is known: for a runtime that does not pass a resize of its terminal on (crun's exec).
 * The kernel then sends SIGWINCH to the command's foreground process group, as for any resize.
 */
export function commandTtyResizer(pid: Promise<number>): (size: TerminalSize) => void {
  return sttyResizer(async () => `/proc/${await pid}/fd/0`);
}

/** `stty -F TTY rows R cols C` for each size, in order, on the terminal `tty()` finds. */
function sttyResizer(tty: () => Promise<string | undefined>): (size: TerminalSize) => void {
  let queue = Promise.resolve();
  return (size) => {
    if (!validSize(size)) return;
    queue = queue.then(async () => {
      const path = await tty();
      if (!path) return;
      const r = await run('stty', ['-F', path, 'rows', String(size.rows), 'cols', String(size.columns)], {
        check: false,
      });
      if (r.code !== 0) log.debug('resize failed', { tty: path, err: new Error(r.stderr.trim()) });
    });
  };
}
