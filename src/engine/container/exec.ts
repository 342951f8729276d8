/**
 * `exec`: runs another process in a running container through the runtime's own `exec`,
 * with the caller's streams (the runtime allocates a pseudo-terminal for `-t`; a stream
 * with a file descriptor, such as a terminal, is handed over as it is, others are piped).
 * The new process joins the container's namespaces, cgroup, capabilities and seccomp profile.
 * A TTY exec on piped streams takes `initialSize` and `onResize` (exec-pty.ts).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { conflict } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { commandIn } from '../../core/own-mount-ns.js';
import { shellWord } from '../../core/shell-word.js';
import { RUNTIME_START_FAILED, runtimeCreateError } from '../runtime/conmon.js';
import {
  detectRuntime,
  execKeepsContainerProcess,
  execTtyWithoutStdin,
  passesResizeOn,
  runtimeGlobalArgs,
} from '../runtime/oci-runtime.js';
import { runtimeProgram } from '../runtime/sealed-copy.js';
import { resolveUser } from '../runtime/user.js';
import type { EngineContext } from './context.js';
import { containerEvent } from './events.js';
import { commandTtyResizer, initialSizeCommand, ptyResizer, validSize } from './exec-pty.js';
import { getContainer } from './lifecycle.js';
import { containerPaths } from './paths.js';
import { type ContainerStreams, childStdio, type TerminalSize } from './streams.js';

/** Options of `exec`: the command, how to run it, and the streams (`stdin` for `-i`). */
export interface ExecOptions extends Partial<ContainerStreams> {
  command: string[];
  tty: boolean;
  detach: boolean;
  env: string[];
  user: string;
  workdir: string;
  /** Kills the exec'd runtime process (and so the command). */
  signal?: AbortSignal;
  /** The exec's ID in its events (`execID`); a new one when absent. */
  execId?: string;
  /** Called with the command's pid once the runtime has started it (not for `detach`). */
  onStarted?: (pid: number) => void;
}

/** The command as dockerd's exec events name it: `exec_start: sh -c date` (a space even without arguments). */
export function execLine(command: readonly string[]): string {
  return `${command[0] ?? ''} ${command.slice(1).join(' ')}`;
}

const log = logger('exec');

const readOr = (p: string) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};

/**
 * The process of an exec as user `u` (else the container's): the container's own
 * (capabilities, limits, profiles), with the command, the terminal, the folder, the user and
 * its groups replaced, `env` over the container's variables (a name given again replaces the
 * container's value), and the terminal's first `size`.
 */
function execProcess(
  bundle: string,
  o: ExecOptions,
  env: readonly string[],
  u: { uid: number; gid: number; additionalGids: number[] } | undefined,
  size: TerminalSize | undefined,
): Record<string, unknown> {
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as {
    process: Record<string, unknown> & { env?: string[]; cwd?: string };
  };
  const { consoleSize: _size, ...base } = spec.process;
  const merged = new Map<string, string>();
  for (const e of [...(base.env ?? []), ...env]) merged.set(e.split('=', 1)[0]!, e);
  return {
    ...base,
    terminal: o.tty,
    args: o.command,
    env: [...merged.values()],
    cwd: o.workdir || base.cwd || '/',
    ...(u
      ? {
          user: {
            uid: u.uid,
            gid: u.gid,
            ...(u.additionalGids.length ? { additionalGids: u.additionalGids } : {}),
          },
        }
      : {}),
    ...(size ? { consoleSize: { height: size.rows, width: size.columns } } : {}),
  };
}

/** Runs the command; resolves with its exit status (0 at once for `detach`). */
export async function execInContainer(ctx: EngineContext, ref: string, o: ExecOptions): Promise<number> {
  const rec = getContainer(ctx, ref);
  if (rec.state === 'paused')
    throw conflict(`Container ${rec.id} is paused, unpause the container before exec`);
  if (rec.state !== 'running') throw conflict(`Container ${rec.id} is not running`);
  const runtime = detectRuntime(ctx.runroot, rec.config.runtime);
  const paths = containerPaths(ctx, rec.id);
  const merged = paths.merged;
  const stdin = o.detach ? undefined : o.stdin;
  const stdout = o.detach ? undefined : o.stdout;
  // A TTY exec with piped streams (the Docker API's sockets): the runtime needs a terminal
  // of its own to copy from, so `script` gives it one and relays it over the pipes. So too
  // without stdin (`exec -t` alone) for a runtime that wants a terminal there (crun).
  const viaPty = o.tty && (childStdio(stdout) === 'pipe' || (!stdin && !execTtyWithoutStdin(runtime)));
  // A detached command inherits the runtime's stdio and keeps it for as long as it runs, so
  // the runtime gets none of ours (Docker's detached exec has no output either); under
  // `script` the runtime's stderr is the terminal the user reads. In both its own errors
  // ("exec failed: ...") go to a log file read once it has exited.
  const runtimeLog =
    o.detach || viaPty ? join(paths.bundle, `exec-${randomBytes(6).toString('hex')}.log`) : undefined;
  const args = [
    ...runtimeGlobalArgs(runtime),
    ...(runtimeLog ? ['--log', runtimeLog, '--log-format', 'json'] : []),
    'exec',
  ];
  if (o.detach) args.push('--detach');
  // A runtime that does not pass a resize of its own terminal (script's) on: the command's
  // terminal is sized directly, which needs its pid.
  const sizeCommandTty = viaPty && !passesResizeOn(runtime);
  // The runtime writes the pid file once the command runs: the moment `onStarted` reports.
  const pidFile =
    (o.onStarted || sizeCommandTty) && !o.detach
      ? join(paths.bundle, `exec-${randomBytes(6).toString('hex')}.pid`)
      : undefined;
  if (pidFile) args.push('--pid-file', pidFile);
  // Docker gives a terminal exec TERM=xterm unless the caller sets TERM.
  const env = o.tty && !o.env.some((e) => e.startsWith('TERM=')) ? ['TERM=xterm', ...o.env] : o.env;
  let processFile: string | undefined;
  // The runtime's init sizes the terminal it makes from the process's consoleSize before the
  // command starts; the size it copies from its own terminal (script's, below) comes only
  // after the start, so without it a quick `stty size` may find no size at all.
  const size = o.tty && validSize(o.initialSize) ? o.initialSize : undefined;
  if (o.user || size || !execKeepsContainerProcess(runtime)) {
    // runc's --user keeps the container's supplementary groups and --additional-gids adds to
    // them, so another user would get the init's (root's group 0): a whole process spec sets
    // this user's groups alone. It also carries the container's no_new_privs, capabilities
    // and rlimits to a runtime whose plain `exec` would not.
    const u = o.user
      ? resolveUser(o.user, readOr(join(merged, 'etc/passwd')), readOr(join(merged, 'etc/group')))
      : undefined;
    processFile = join(paths.bundle, `exec-${randomBytes(6).toString('hex')}.json`);
    writeFileSync(processFile, JSON.stringify(execProcess(paths.bundle, o, env, u, size)), { mode: 0o600 });
    args.push('--process', processFile, rec.id);
  } else {
    if (o.tty) args.push('--tty');
    if (o.workdir) args.push('--cwd', o.workdir);
    for (const e of env) args.push('--env', e);
    args.push(rec.id, ...o.command);
  }
  const runtimeCall = commandIn(runtime.mountNamespace, await runtimeProgram(runtime), args);
  const [file, argv] = viaPty
    ? [
        'script',
        [
          '-qefc',
          // The runtime's stderr carries only its own messages (the command's are on the
          // container's terminal), and those are in its log as well.
          `${initialSizeCommand(o.initialSize)}exec ${[runtimeCall.file, ...runtimeCall.args].map(shellWord).join(' ')} 2>/dev/null`,
          '/dev/null',
        ],
      ]
    : [runtimeCall.file, runtimeCall.args];
  // script passes the end of its input on as the terminal's end-of-file character, which the
  // runtime's raw terminal makes a NUL the container's terminal echoes (`^@` before the
  // output): without the client's stdin, script gets a pipe that stays open until it ends.
  const execID = o.execId ?? randomBytes(32).toString('hex');
  containerEvent(ctx, rec, `exec_start: ${execLine(o.command)}`, { execID });
  const child = spawn(file, argv, {
    stdio: [
      viaPty && !stdin ? 'pipe' : childStdio(stdin),
      childStdio(stdout),
      runtimeLog ? 'ignore' : 'pipe',
    ],
  });
  let started: (pid: number) => void = () => {};
  const commandPid = new Promise<number>((resolve) => {
    started = resolve;
  });
  const unsubscribe =
    viaPty && child.pid
      ? o.onResize?.(sizeCommandTty ? commandTtyResizer(commandPid) : ptyResizer(child.pid))
      : undefined;
  const stopWatching = pidFile
    ? watchPidFile(pidFile, (pid) => {
        started(pid);
        o.onStarted?.(pid);
      })
    : undefined;
  child.stdin?.on('error', (e) => log.debug('exec stdin closed', { id: rec.id, err: e }));
  if (stdin && child.stdin) stdin.pipe(child.stdin);
  if (stdout && child.stdout) child.stdout.pipe(stdout, { end: false });
  let tail = '';
  child.stderr?.on('data', (b: Buffer) => {
    tail = (tail + b.toString()).slice(-4096);
    if (!RUNTIME_START_FAILED.test(tail)) o.stderr?.write(b);
  });
  // The runtime passes the signal on to the command, as it does for every signal it gets.
  const onAbort = () => child.kill('SIGTERM');
  o.signal?.addEventListener('abort', onAbort);
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
  }).finally(() => {
    if (processFile) rmSync(processFile, { force: true });
    stopWatching?.();
    if (pidFile) rmSync(pidFile, { force: true });
    o.signal?.removeEventListener('abort', onAbort);
    unsubscribe?.();
    if (stdin && child.stdin) stdin.unpipe(child.stdin);
  });
  if (runtimeLog) {
    tail = runtimeLogErrors(readOr(runtimeLog));
    rmSync(runtimeLog, { force: true });
  }
  if (
    code !== 0 &&
    (RUNTIME_START_FAILED.test(tail) || /no such file or directory|permission denied/.test(tail))
  ) {
    const e = runtimeCreateError(tail);
    if (e.exitCode !== 125) throw e;
  }
  // A detached exec's status is not known here (the runtime left it running).
  if (!o.detach) containerEvent(ctx, rec, 'exec_die', { execID, exitCode: String(code) });
  return code;
}

/**
 * Calls `started` with the pid once the runtime has written `pidFile` (renamed into place, so
 * it is whole when it appears); returns the function that stops watching.
 */
function watchPidFile(pidFile: string, started: (pid: number) => void): () => void {
  let done = false;
  const check = () => {
    if (done) return;
    const pid = Number.parseInt(readOr(pidFile).trim(), 10);
    if (!pid) return;
    done = true;
    watcher.close();
    started(pid);
  };
  const watcher = watch(dirname(pidFile), (_ev, file) => {
    if (file === basename(pidFile)) check();
  });
  watcher.on('error', (e) => log.debug('pid file watch failed', { pidFile, err: e }));
  check();
  return () => {
    done = true;
    watcher.close();
  };
}

/** The messages of the error lines in a runtime's JSON log (`--log-format json`). */
export function runtimeLogErrors(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) out.push(entry.msg);
    } catch {
      // A line that is not JSON (a runtime without --log-format) is its own message.
      out.push(line);
    }
  }
  return out.join('\n');
}
