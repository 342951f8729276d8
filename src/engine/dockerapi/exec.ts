/** The exec routes: create an instance, start it on a hijacked connection, resize, inspect. */
import { randomBytes } from 'node:crypto';
import { BerthError, conflict, errorMessage, invalidArgument, notFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { execLine } from '../container/exec.js';
import type { TerminalSize } from '../container/streams.js';
import type { Api } from './api.js';
import { socketStreams } from './container-streams.js';
import { hijack } from './hijack.js';
import { jsonBody, sendJson } from './http.js';
import type { Router } from './router.js';
import type { ExecInstance } from './sessions.js';

const log = logger('dockerapi');

interface ExecCreateBody {
  Cmd?: string[] | null;
  Tty?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Env?: string[] | null;
  User?: string;
  WorkingDir?: string;
  Privileged?: boolean;
  /** `[rows, columns]` (API 1.42 on): the terminal's size when the exec starts. */
  ConsoleSize?: [number, number] | null;
}

/** Docker's `ConsoleSize` (`[rows, columns]`) as a terminal size; undefined when absent or zero. */
function consoleSize(v: [number, number] | null | undefined): TerminalSize | undefined {
  return v?.[0] && v[1] ? { rows: v[0], columns: v[1] } : undefined;
}

/**
 * What dockerd reports for an exec whose command could not start: the runtime's message as
 * `OCI runtime exec failed: ...: unknown`, and the status the CLI exits with, from the message
 * as dockerd works it out: 126 when it says permission denied, 127 for a file that is not
 * there (the command, or the working directory), else 126. Other errors (an unknown user) are
 * reported as they are, with 126.
 */
export function execStartFailure(e: unknown): { message: string; code: number } {
  const runtimeMessage = e instanceof BerthError ? e.details?.runtimeMessage : undefined;
  if (typeof runtimeMessage !== 'string') return { message: errorMessage(e), code: 126 };
  const notFound =
    !/permission denied/i.test(runtimeMessage) &&
    /executable file not found|no such file or directory/i.test(runtimeMessage);
  return { message: `OCI runtime exec failed: ${runtimeMessage}: unknown`, code: notFound ? 127 : 126 };
}

/** Adds the exec routes to `r`. */
export function execRoutes(r: Router, api: Api): void {
  const { engine, sessions } = api;
  const instance = (id: string): ExecInstance => {
    const x = sessions.exec(id);
    if (!x) throw notFound(`No such exec instance: ${id}`);
    return x;
  };

  r.add('POST', '/containers/{id}/exec', async (c) => {
    const body = await jsonBody<ExecCreateBody>(c);
    const rec = engine.containers.get(c.params.id!);
    if (!body.Cmd?.length) throw invalidArgument('No exec command specified');
    if (rec.state === 'paused')
      throw conflict(`Container ${rec.name} is paused, unpause the container before exec`);
    if (rec.state !== 'running') throw conflict(`Container ${rec.id} is not running`);
    const id = randomBytes(32).toString('hex');
    sessions.addExec({
      id,
      containerId: rec.id,
      command: body.Cmd,
      tty: !!body.Tty,
      attachStdin: !!body.AttachStdin,
      attachStdout: body.AttachStdout !== false,
      attachStderr: body.AttachStderr !== false,
      env: body.Env ?? [],
      user: body.User ?? '',
      workdir: body.WorkingDir ?? '',
      running: false,
      exitCode: null,
      pid: 0,
      size: consoleSize(body.ConsoleSize),
    });
    engine.containers.record(rec.id, `exec_create: ${execLine(body.Cmd)}`, { execID: id });
    sendJson(c, 201, { Id: id });
  });

  r.add('POST', '/exec/{id}/start', async (c) => {
    const x = instance(c.params.id!);
    const body = await jsonBody<{ Detach?: boolean; Tty?: boolean; ConsoleSize?: [number, number] | null }>(
      c,
    );
    if (x.running || x.exitCode !== null) throw conflict(`Exec ${x.id} has already run`);
    x.running = true;
    const settle = (code: number | null) => {
      x.running = false;
      x.exitCode = code;
    };
    const base = {
      command: x.command,
      tty: x.tty,
      env: x.env,
      user: x.user,
      workdir: x.workdir,
      execId: x.id,
      // inspect's Pid, from the moment the command runs.
      onStarted: (pid: number) => {
        x.pid = pid;
      },
    };
    if (body.Detach) {
      // As dockerd, the answer comes once the command runs (or could not start), so that
      // what the client does next sees it running.
      await new Promise<void>((answered) => {
        engine.containers
          .exec(x.containerId, {
            ...base,
            detach: false,
            onStarted: (pid) => {
              x.pid = pid;
              answered();
            },
          })
          .then(settle, (e: unknown) => {
            log.debug('detached exec failed', { id: x.id, err: e as Error });
            settle(execStartFailure(e).code);
          })
          .finally(answered);
      });
      sendJson(c, 200);
      return;
    }
    const socket = hijack(c, x.tty);
    const gone = new AbortController();
    socket.on('close', () => gone.abort());
    socket.on('error', (e) => log.debug('exec connection failed', { id: x.id, err: e }));
    const streams = socketStreams(socket, x.tty, {
      stdin: x.attachStdin,
      stdout: x.attachStdout,
      stderr: x.attachStderr,
    });
    // The size known at start (the client's, or a resize that came first) sizes the terminal
    // before the command runs; later resizes go to its terminal as they come.
    const initialSize = consoleSize(body.ConsoleSize) ?? x.size;
    try {
      settle(
        await engine.containers.exec(x.containerId, {
          ...base,
          ...streams,
          ...(initialSize ? { initialSize } : {}),
          onResize: (fn) => {
            const off = sessions.onResize(x.id, fn);
            // A resize that came between the start and this subscription is applied now.
            if (x.size && x.size !== initialSize) fn(x.size);
            return off;
          },
          detach: false,
          signal: gone.signal,
        }),
      );
    } catch (e) {
      // The status line is already sent: the error goes into the stream, in dockerd's words.
      const failed = execStartFailure(e);
      settle(failed.code);
      streams.stderr.write(Buffer.from(`${failed.message}\r\n`));
    } finally {
      socket.end();
    }
  });

  r.add('POST', '/exec/{id}/resize', async (c) => {
    const x = instance(c.params.id!);
    const size = { rows: Number(c.query.get('h') ?? 0), columns: Number(c.query.get('w') ?? 0) };
    if (!Number.isInteger(size.rows) || !Number.isInteger(size.columns) || size.rows < 0 || size.columns < 0)
      throw invalidArgument(`Invalid terminal size h=${c.query.get('h')} w=${c.query.get('w')}`);
    x.size = size;
    sessions.resize(x.id, size);
    sendJson(c, 200);
  });

  r.add('GET', '/exec/{id}/json', async (c) => {
    const x = instance(c.params.id!);
    sendJson(c, 200, {
      ID: x.id,
      ContainerID: x.containerId,
      Running: x.running,
      ExitCode: x.exitCode,
      Pid: x.pid,
      OpenStdin: x.attachStdin,
      OpenStdout: x.attachStdout,
      OpenStderr: x.attachStderr,
      CanRemove: false,
      DetachKeys: '',
      ProcessConfig: {
        tty: x.tty,
        entrypoint: x.command[0],
        arguments: x.command.slice(1),
        privileged: false,
        user: x.user,
      },
    });
  });
}
