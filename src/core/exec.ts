import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { BerthError } from './errors.js';
import { commandIn, type OwnMountNamespace } from './own-mount-ns.js';
import { DEFAULT_PATH, forgetProgramPath, programPath } from './program-path.js';
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
  /** Runs the program in a mount namespace of its own (own-mount-ns.ts). */
  mountNamespace?: OwnMountNamespace;
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
 * start for nothing. Programs given extra file descriptors are still started directly. The
 * helper is a Perl program: where Perl is missing, programs start from this process.
 */
export function runCommandsThroughHelper(): void {
  if (!programPath('perl').startsWith('/')) return;
  helper ??= new Spawner();
}

/**
 * True in a long-lived process: one that called {@link runCommandsThroughHelper}. Such a
 * process may pay once for what saves work at every command (runtime/sealed-copy.ts).
 */
export function commandsRunThroughHelper(): boolean {
  return helper !== undefined;
}

/**
 * The helper process of a long-lived process, for the work it does itself without starting a
 * program (spawner.ts's namespace verbs); undefined where commands start from this process.
 */
export function commandHelper(): Spawner | undefined {
  return helper;
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

/** The PATH a child started with `env` searches (execvp reads the child's environment). */
const pathOf = (env: NodeJS.ProcessEnv | undefined) =>
  env ? (env.PATH ?? DEFAULT_PATH) : (process.env.PATH ?? DEFAULT_PATH);

/**
 * Runs `start` with the program's absolute path (program-path.ts), forgetting that path if
 * the program is no longer found there.
 */
async function withProgramPath<T>(
  file: string,
  env: NodeJS.ProcessEnv | undefined,
  start: (path: string) => Promise<T>,
): Promise<T> {
  const searched = pathOf(env);
  const path = programPath(file, searched);
  try {
    return await start(path);
  } catch (e) {
    if (path !== file && (e as { code?: string }).code === 'Unavailable') forgetProgramPath(file, searched);
    throw e;
  }
}

/** Starts the program (`path`; `file` is its name, its argv[0]) in this process and collects its output. */
function runHere(
  file: string,
  path: string,
  args: readonly string[],
  options: RunOptions,
  kill: KillSwitch,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const stdio: (string | number)[] = [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'];
    for (const fd of options.extraFds ?? []) stdio.push(fd);
    const cmd = commandIn(options.mountNamespace, path, args, file);
    const child = spawn(cmd.file, cmd.args, {
      argv0: cmd.argv0,
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

/** Starts the program (`path`; `file` is its name, its argv[0]) through the helper process. */
async function runInHelper(
  spawner: Spawner,
  file: string,
  path: string,
  args: readonly string[],
  options: RunOptions,
  kill: KillSwitch,
): Promise<Outcome> {
  if (options.signal?.aborted) throw startError(file, { name: 'AbortError', message: 'aborted' });
  const ran = spawner.run(
    path,
    args,
    {
      cwd: options.cwd,
      env: options.env,
      input: options.input,
      argv0: file,
      ...(options.mountNamespace ? { mountNamespace: options.mountNamespace } : {}),
    },
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
    o = await withProgramPath(file, options.env, (path) =>
      helper && !options.extraFds?.length
        ? runInHelper(helper, file, path, args, options, kill)
        : runHere(file, path, args, options, kill),
    );
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

/** Options for {@link startDaemon}. */
export interface DaemonOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Starts it in a mount namespace of its own (own-mount-ns.ts). */
  mountNamespace?: OwnMountNamespace;
}

/** What a daemon reported at its start: see {@link startDaemon}. */
export interface DaemonStart {
  /** Its first line on fd 3; undefined when fd 3 closed without one. */
  line?: string;
  /** What it wrote to stderr until then. */
  stderr: string;
}

/**
 * Starts a monitor that outlives this call and this process (conmon): in a session of its
 * own, with fd 3 a pipe on which it reports one line when it is ready. Resolves with that
 * line, or without one when fd 3 closes first, and then lets go of the process without
 * waiting for it. Long-lived processes start it through the helper process, as {@link run}
 * does: a fork() of the server is what this avoids.
 */
export async function startDaemon(
  file: string,
  args: readonly string[],
  options: DaemonOptions = {},
): Promise<DaemonStart> {
  return withProgramPath(file, options.env, async (path) => {
    if (!helper) return startDaemonHere(file, path, args, options);
    try {
      const o = await helper.run(path, args, { ...options, daemon: true, argv0: file }).outcome;
      return { ...(o.line !== undefined ? { line: o.line } : {}), stderr: o.stderr.toString('utf8') };
    } catch (e) {
      if (e instanceof SpawnError) throw startError(file, e);
      throw new BerthError('Internal', `Cannot run "${file}": ${(e as Error).message}`, { cause: e });
    }
  });
}

function startDaemonHere(
  file: string,
  path: string,
  args: readonly string[],
  options: DaemonOptions,
): Promise<DaemonStart> {
  const cmd = commandIn(options.mountNamespace, path, args, file);
  const child = spawn(cmd.file, cmd.args, {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
    env: options.env,
    argv0: cmd.argv0,
    detached: true,
  });
  const stderr: Buffer[] = [];
  child.stderr?.on('data', (b: Buffer) => stderr.push(b));
  const sync = child.stdio[3] as Readable;
  return new Promise<DaemonStart>((resolve, reject) => {
    let buf = '';
    let done = false;
    const finish = (e: Error | undefined, line?: string) => {
      if (done) return;
      done = true;
      sync.destroy();
      child.stderr?.destroy();
      child.unref();
      if (e) reject(e);
      else
        resolve({ ...(line !== undefined ? { line } : {}), stderr: Buffer.concat(stderr).toString('utf8') });
    };
    sync.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) finish(undefined, buf.slice(0, nl));
    });
    sync.on('error', () => {}); // reported as the close below
    sync.on('close', () => finish(undefined));
    child.on('error', (e: NodeJS.ErrnoException) => finish(startError(file, e)));
  });
}
