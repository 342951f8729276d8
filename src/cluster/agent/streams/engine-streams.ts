/**
 * Logs, exec, attach and port-forward of the engine runtime (engine-runtime.ts delegates
 * here): the engine's own exec (with a pseudo-terminal relayed for TTY sessions), attach
 * through conmon, and connections into the pod's network namespace.
 */
import { Writable } from 'node:stream';
import { dockerTimestamp } from '../../../engine/container/logs.js';
import type { Engine } from '../../../engine/engine.js';
import type { LogRequest, SessionStreams } from '../runtime.js';

/** Output nobody asked for (a session without stdout or stderr). */
const discard = () =>
  new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });

export function engineExec(engine: Engine, id: string, cmd: string[], io: SessionStreams): Promise<number> {
  return engine.containers.exec(id, {
    command: cmd,
    tty: io.tty,
    detach: false,
    env: [],
    user: '',
    workdir: '',
    ...(io.stdin ? { stdin: io.stdin } : {}),
    stdout: io.stdout ?? discard(),
    stderr: io.stderr ?? io.stdout ?? discard(),
    ...(io.initialSize ? { initialSize: io.initialSize } : {}),
    ...(io.onResize ? { onResize: io.onResize } : {}),
    ...(io.signal ? { signal: io.signal } : {}),
  });
}

export async function engineAttach(engine: Engine, id: string, io: SessionStreams): Promise<void> {
  await engine.containers.attach(id, {
    ...(io.stdin ? { stdin: io.stdin } : {}),
    stdout: io.stdout ?? discard(),
    stderr: io.stderr ?? discard(),
    ...(io.initialSize ? { initialSize: io.initialSize } : {}),
    ...(io.onResize ? { onResize: io.onResize } : {}),
    ...(io.signal ? { signal: io.signal } : {}),
  });
}

/**
 * Writes a container's log as the kubelet does: from `since`, each line prefixed with its
 * time (RFC 3339 with nanoseconds, UTC) for `timestamps`, cut after `limitBytes`.
 */
export async function engineLogs(
  engine: Engine,
  id: string,
  out: NodeJS.WritableStream,
  o: LogRequest,
): Promise<void> {
  const limit = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, limit.signal]) : limit.signal;
  let left = o.limitBytes ?? Number.POSITIVE_INFINITY;
  let lineStart = true;
  await engine.containers.logs(
    id,
    {
      ...(o.follow ? { follow: true } : {}),
      ...(o.tail !== undefined ? { tail: o.tail } : {}),
      ...(o.since !== undefined ? { since: o.since } : {}),
      signal,
    },
    (e) => {
      if (left <= 0) return;
      let data =
        o.timestamps && lineStart
          ? Buffer.concat([Buffer.from(`${dockerTimestamp(e.time)} `), e.data])
          : e.data;
      lineStart = e.data.at(-1) === 0x0a;
      if (data.length >= left) {
        data = data.subarray(0, left);
        limit.abort();
      }
      left -= data.length;
      out.write(data);
    },
  );
}
