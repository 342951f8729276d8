/**
 * Starting a container under conmon, the container monitor (Debian's conmon 2.1.6, API
 * version 1). conmon double-forks, so the container outlives the `berth` process; it runs
 * the runtime's `create`, reports the container's pid (or the runtime's error) as one JSON
 * line on the sync pipe (fd 3, named by `_OCI_SYNCPIPE`), keeps the container's stdio, writes
 * them to a k8s-file log, writes the exit status to EXIT_DIR/ID, and then runs the exit
 * command. Berth then calls the runtime's `start` itself.
 */
import { BerthError, unavailable } from '../../core/errors.js';
import { type DaemonStart, startDaemon } from '../../core/exec.js';
import type { OwnMountNamespace } from '../../core/own-mount-ns.js';
import type { ContainerPaths } from '../container/paths.js';
import type { Mount } from '../snapshot/snapshotter.js';
import { type OciRuntime, runtimeGlobalArgs } from './oci-runtime.js';
import { runtimeProgram } from './sealed-copy.js';

/** What {@link startConmon} needs. */
export interface ConmonOptions {
  id: string;
  name: string;
  runtime: OciRuntime;
  paths: ContainerPaths;
  tty: boolean;
  stdin: boolean;
  /** Keeps the container's stdin open when an attached client goes (`--leave-stdin-open`). */
  leaveStdinOpen?: boolean;
  /** The program (argv) conmon runs after the container exits; empty for none. */
  exitCommand: string[];
  /** `--log-opt max-size` in bytes: conmon truncates the log when it reaches it. */
  logSizeMax?: number;
  /** conmon's path; default `conmon` on PATH. */
  conmonPath?: string;
  /**
   * The container's root, mounted at `target` in a mount namespace of conmon's own that the
   * runtime's `create` and the container copy (for a runtime that does not mount a root given
   * as a mount at `/` itself: see oci-runtime.ts's `mountsRootItself`).
   */
  root?: { mounts: readonly Mount[]; target: string };
}

/** The sync pipe's message: the container's pid, or -1 and the runtime's error. */
interface SyncMessage {
  data: number;
  message?: string;
}

/**
 * Runs conmon, which creates the container, and returns the container's pid. Throws an error
 * with a Docker exit status (127 not found, 126 cannot execute, 125 otherwise) when the
 * runtime refuses to create it.
 */
export async function startConmon(o: ConmonOptions): Promise<number> {
  const args = [
    '--api-version',
    '1',
    '-c',
    o.id,
    '-u',
    o.id,
    '-r',
    await runtimeProgram(o.runtime),
    '-b',
    o.paths.bundle,
    '-p',
    o.paths.pidFile,
    '-n',
    o.name,
    '--exit-dir',
    o.paths.exitDir,
    '-l',
    `k8s-file:${o.paths.log}`,
    '--socket-dir-path',
    o.paths.socketDir,
    '--conmon-pidfile',
    o.paths.conmonPidFile,
    '--persist-dir',
    o.paths.bundle,
    '--log-level',
    'error',
    '--syslog',
  ];
  for (const a of runtimeGlobalArgs(o.runtime)) args.push('--runtime-arg', a);
  if (o.logSizeMax) args.push('--log-size-max', String(o.logSizeMax));
  if (o.tty) args.push('-t');
  if (o.stdin) args.push('-i');
  if (o.stdin && o.leaveStdinOpen) args.push('--leave-stdin-open');
  if (o.exitCommand.length > 0) {
    args.push('--exit-command', o.exitCommand[0]!);
    for (const a of o.exitCommand.slice(1)) args.push('--exit-command-arg', a);
  }
  // Through the command helper in a long-lived process (exec.ts): fork() of the server blocked
  // its event loop for each container started.
  const file = o.conmonPath ?? 'conmon';
  let started: DaemonStart;
  try {
    const mountNamespace = conmonMountNamespace(o);
    started = await startDaemon(file, args, {
      env: { ...process.env, _OCI_SYNCPIPE: '3' },
      // conmon writes its `oom` marker into its working folder as well as the persist dir;
      // keep it in the bundle rather than wherever `berth` was called from.
      cwd: o.paths.bundle,
      ...(mountNamespace ? { mountNamespace } : {}),
    });
  } catch (e) {
    if ((e as BerthError).code === 'Unavailable')
      throw unavailable('Cannot run "conmon": program not found; run scripts/install-deps');
    throw e;
  }
  const stderr = started.stderr.trim();
  if (started.line === undefined)
    throw new BerthError(
      'Internal',
      `conmon exited before reporting the container: ${stderr || 'no message'}`,
    );
  let message: SyncMessage;
  try {
    message = JSON.parse(started.line) as SyncMessage;
  } catch (e) {
    throw new BerthError('Internal', `conmon sent an unreadable message: ${started.line}`, { cause: e });
  }
  if (message.data > 0) return message.data;
  throw runtimeCreateError(message.message ?? stderr);
}

/** Where conmon, and so the runtime's `create`, runs: the runtime's namespace, with the root. */
function conmonMountNamespace(o: ConmonOptions): OwnMountNamespace | undefined {
  if (!o.root) return o.runtime.mountNamespace;
  const target = o.root.target;
  return {
    ...o.runtime.mountNamespace,
    mounts: o.root.mounts.map((m) => ({
      source: m.source,
      target,
      fstype: m.type,
      data: m.options.join(','),
    })),
  };
}

/**
 * The message of a runtime's logfmt line (`time="..." level=error msg="exec failed: ..."`, as
 * conmon relays runc's), unquoted; any other text as it is.
 */
export function logfmtMessage(line: string): string {
  const m = /^time="[^"]*" level=\w+ msg="((?:[^"\\]|\\.)*)"$/.exec(line);
  return m ? m[1]!.replace(/\\(.)/g, '$1') : line;
}

/**
 * The runtime's own words when it could not start a command: runc's (`exec failed: ...`) and
 * crun's (``executable file `X` not found in $PATH``, `open executable: ...`, ``chdir `DIR`: ...``).
 */
export const RUNTIME_START_FAILED =
  /exec failed|executable file (`[^`]*` )?not found|open executable: |^chdir `/m;

/** Maps a runtime's create error to Docker's exit statuses: 127 not found, 126 not executable. */
export function runtimeCreateError(message: string): BerthError & { exitCode: number } {
  const clean = logfmtMessage(message.replace(/\s+/g, ' ').trim());
  let exitCode = 125;
  let text = `Cannot start the container: ${clean}`;
  if (/chdir to cwd|^chdir `/.test(clean)) {
    // A working directory that is missing (`exec -w`): dockerd's exec gives 126 for it.
    exitCode = 126;
    text = `Cannot start the container: its working directory cannot be entered (${clean})`;
  } else if (/executable file not found|no such file or directory/i.test(clean) && /exec/i.test(clean)) {
    exitCode = 127;
    text = `Cannot start the container: the command was not found in the image (${clean})`;
  } else if (
    /permission denied|open executable: operation not permitted/i.test(clean) &&
    /exec/i.test(clean)
  ) {
    exitCode = 126;
    text = `Cannot start the container: the command cannot be executed (${clean})`;
  }
  // The runtime's own words stay at hand for front ends that show them as they are (the
  // Docker API's exec reports them as dockerd does).
  const err = new BerthError('InvalidArgument', text, {
    details: { runtimeMessage: clean },
  }) as BerthError & {
    exitCode: number;
  };
  err.exitCode = exitCode;
  return err;
}
