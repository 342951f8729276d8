import { spawn } from 'node:child_process';
import { BerthError } from './errors.js';

/** Options for {@link run}. */
export interface RunOptions {
  /** Working directory. Default: the current one. */
  cwd?: string;
  /** Environment. Default: the current process environment. */
  env?: NodeJS.ProcessEnv;
  /** Bytes written to the child's stdin, then stdin is closed. Default: stdin is /dev/null. */
  input?: string | Buffer;
  /** Kill the child (SIGKILL) after this many milliseconds. Default: no limit. */
  timeoutMs?: number;
  /** Cancels the child (SIGKILL). */
  signal?: AbortSignal;
  /** When false, a non-zero exit is returned rather than thrown. Default: true. */
  check?: boolean;
  /** Extra file descriptors for the child, after stdio (fd 3, 4, ...). */
  extraFds?: number[];
}

/** What a finished child process produced. */
export interface RunResult {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program without a shell and collects its output. A non-zero exit becomes an
 * Internal error whose message carries the program, its status and its stderr, because
 * "runc failed" alone never helps anyone; a missing program is Unavailable.
 */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const stdio: (string | number)[] = [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'];
    for (const fd of options.extraFds ?? []) stdio.push(fd);
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: stdio as never,
      signal: options.signal,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, options.timeoutMs);
    }
    if (options.input !== undefined) {
      child.stdin?.on('error', () => {}); // the child may exit before reading it all
      child.stdin?.end(options.input);
    }
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (e.code === 'ENOENT') {
        reject(
          new BerthError('Unavailable', `Cannot run "${file}": program not found; run scripts/install-deps`),
        );
      } else if (e.name === 'AbortError') {
        reject(new BerthError('Canceled', `"${file}" was canceled`, { cause: e }));
      } else {
        reject(new BerthError('Internal', `Cannot run "${file}": ${e.message}`, { cause: e }));
      }
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const result: RunResult = {
        code: code ?? -1,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (timedOut) {
        reject(
          new BerthError(
            'DeadlineExceeded',
            `"${file} ${args.join(' ')}" did not finish within ${options.timeoutMs} ms`,
          ),
        );
        return;
      }
      if (options.check !== false && (code !== 0 || signal)) {
        const why = signal ? `killed by ${signal}` : `exit status ${code}`;
        const detail = result.stderr.trim() || result.stdout.trim();
        reject(
          new BerthError(
            'Internal',
            `"${file} ${args.join(' ')}" failed (${why})${detail ? `: ${detail}` : ''}`,
            {
              details: { ...result },
            },
          ),
        );
        return;
      }
      resolve(result);
    });
  });
}
