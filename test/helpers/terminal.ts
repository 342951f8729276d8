/**
 * A command run on a pseudo-terminal, as a user at a terminal runs it: `script` gives it a
 * terminal of a chosen size, whose input stays open (an input that ended would reach the
 * command as an end of input racing with what it runs) and whose size the test can change.
 */
import type { ChildProcess } from 'node:child_process';
import { ptyResizer } from '../../src/engine/container/exec-pty.js';
import type { TerminalSize } from '../../src/engine/container/streams.js';
import type { Sandbox } from './sandbox.js';
import { until } from './until.js';

export interface TerminalSession {
  readonly child: ChildProcess;
  /** All that the terminal has shown so far. */
  output(): string;
  /** Types `text` at the terminal (add "\n" to end a line). */
  type(text: string): void;
  /** The exit code of the session once it ends; rejects if `script` could not start. */
  readonly exited: Promise<number | null>;
  /**
   * Waits until the output matches `pattern`, typing `prompt` before each look (what makes the
   * command print again); the failure shows the end of the output.
   */
  waitFor(what: string, pattern: RegExp, prompt?: string, timeoutMs?: number): Promise<void>;
  /** Changes the terminal's size, as a user resizing the window: the kernel sends SIGWINCH. */
  resize(size: TerminalSize): void;
  /** Ends the session (the sandbox's cleanup also kills it if a test fails first). */
  kill(): void;
}

/** Starts `command` (a shell command line) in `box` on a terminal of `size`. */
export function onTerminal(
  box: Sandbox,
  command: string,
  size: TerminalSize,
  env: NodeJS.ProcessEnv = box.env,
): TerminalSession {
  const child = box.spawn(
    'script',
    ['-qec', `stty rows ${size.rows} cols ${size.columns}; ${command}`, '/dev/null'],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env,
    },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  let failed: Error | undefined;
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', (e) => {
      failed = e;
      reject(e);
    });
    child.once('exit', resolve);
  });
  // A session whose exit nobody awaits must not end the test run with an unhandled
  // rejection: the error is still kept for waitFor's message and for those who await.
  exited.catch(() => undefined);
  return {
    child,
    output: () => out,
    type: (text) => {
      child.stdin?.write(text);
    },
    exited,
    waitFor: (what, pattern, prompt, timeoutMs) =>
      until(
        () =>
          `${what}${failed ? ` (script failed: ${failed.message})` : ''}; the terminal showed: ${JSON.stringify(out.slice(-600))}`,
        async () => {
          if (prompt !== undefined) child.stdin?.write(prompt);
          return pattern.test(out);
        },
        timeoutMs,
      ),
    resize: (to) => ptyResizer(child.pid!)(to),
    kill: () => {
      child.kill();
    },
  };
}

/**
 * Checks that the program `client` starts on a terminal follows that terminal when it is
 * resized: `client` is a command line that runs, at its end, the shell command it is given
 * inside the container on a terminal of its own (as `exec -it NAME` does). The shell prints the
 * size it sees for every line typed; it must see the starting size, then the new one.
 */
export async function expectFollowsResize(
  box: Sandbox,
  client: string,
  env: NodeJS.ProcessEnv = box.env,
): Promise<void> {
  const session = onTerminal(
    box,
    `${client} sh -c 'while read x; do stty size; done'`,
    { rows: 20, columns: 60 },
    env,
  );
  try {
    await session.waitFor('the first size', /^20 60\r?$/m, '\n');
    session.resize({ rows: 40, columns: 120 });
    await session.waitFor('the new size', /^40 120\r?$/m, '\n');
  } finally {
    session.kill();
  }
}
