import { spawn } from 'node:child_process';
import { BerthError } from './errors.js';
import { SpawnError, Spawner } from './spawner.js';

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

let helper: Spawner | undefined;

/**
 * From now on, {@link run} starts programs through a small helper process (see spawner.ts for
 * why: fork() of a big process blocks its event loop). For long-lived processes only (the
 * server, the agent, the Docker API service): a one-shot CLI command would pay the helper's
 * start for nothing. Programs given extra file descriptors are still started directly.
 */
export function runCommandsThroughHelper(): void {
  helper ??= new Spawner();
}

/** Stops using the helper process (it ends once its commands have finished). */
export function stopCommandHelper(): void {
  helper?.close();
  helper = undefined;
}

/** The raw outcome of a child process, started here or by the helper. */
interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

function startError(file: string, e: { code?: string; name?: string; message: string }): BerthError {
  if (e.code === 'ENOENT')
    return new BerthError('Unavailable', `Cannot run "${file}": program not found; run scripts/install-deps`);
  if (e.name === 'AbortError' || e.code === 'ABORT_ERR')
    return new BerthError('Canceled', `"${file}" was canceled`, { cause: e });
  return new BerthError('Internal', `Cannot run "${file}": ${e.message}`, { cause: e });
}

/** Starts the program in this process and collects its output. */
function runHere(
  file: string,
  args: readonly string[],
  options: RunOptions,
  kill: KillSwitch,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const stdio: (string | number)[] = [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'];
    for (const fd of options.extraFds ?? []) stdio.push(fd);
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: stdio as never,
      signal: options.signal,
    });
    kill.fn = () => child.kill('SIGKILL');
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    if (options.input !== undefined) {
      child.stdin?.on('error', () => {}); // the child may exit before reading it all
      child.stdin?.end(options.input);
    }
    child.on('error', (e: NodeJS.ErrnoException) => reject(startError(file, e)));
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }),
    );
  });
}

/** Starts the program through the helper process. */
async function runInHelper(
  spawner: Spawner,
  file: string,
  args: readonly string[],
  options: RunOptions,
  kill: KillSwitch,
): Promise<Outcome> {
  if (options.signal?.aborted) throw startError(file, { name: 'AbortError', message: 'aborted' });
  const ran = spawner.run(
    file,
    args,
    { cwd: options.cwd, env: options.env, input: options.input },
    options.signal,
  );
  kill.fn = () => ran.kill();
  try {
    const o = await ran.outcome;
    if (options.signal?.aborted) throw startError(file, { name: 'AbortError', message: 'aborted' });
    return o;
  } catch (e) {
    if (e instanceof SpawnError) throw startError(file, e);
    if (e instanceof BerthError) throw e;
    throw new BerthError('Internal', `Cannot run "${file}": ${(e as Error).message}`, { cause: e });
  }
}

interface KillSwitch {
  fn?: () => void;
}

/**
 * Runs a program without a shell and collects its output. A non-zero exit becomes an
 * Internal error whose message carries the program, its status and its stderr, because
 * "runc failed" alone never helps anyone; a missing program is Unavailable.
 */
export async function run(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const kill: KillSwitch = {};
  let timedOut = false;
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          kill.fn?.();
        }, options.timeoutMs);
  let o: Outcome;
  try {
    o =
      helper && !options.extraFds?.length
        ? await runInHelper(helper, file, args, options, kill)
        : await runHere(file, args, options, kill);
  } finally {
    if (timer) clearTimeout(timer);
  }
  const result: RunResult = {
    code: o.code ?? -1,
    signal: o.signal,
    stdout: o.stdout.toString('utf8'),
    stderr: o.stderr.toString('utf8'),
  };
  if (timedOut)
    throw new BerthError(
      'DeadlineExceeded',
      `"${file} ${args.join(' ')}" did not finish within ${options.timeoutMs} ms`,
    );
  if (options.check !== false && (o.code !== 0 || o.signal)) {
    const why = o.signal ? `killed by ${o.signal}` : `exit status ${o.code}`;
    const detail = result.stderr.trim() || result.stdout.trim();
    throw new BerthError(
      'Internal',
      `"${file} ${args.join(' ')}" failed (${why})${detail ? `: ${detail}` : ''}`,
      {
        details: { ...result },
      },
    );
  }
  return result;
}
