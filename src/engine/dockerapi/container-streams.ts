/**
 * The container routes that stream: attach (a hijacked connection), wait (an answer that
 * comes when the container stops) and logs (framed output, optionally followed).
 */
import type { Duplex } from 'node:stream';
import { BerthError, invalidArgument, isNotFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { parseSince } from '../container/logs.js';
import type { ContainerStreams } from '../container/streams.js';
import type { Api } from './api.js';
import { escapeProxy, parseDetachKeys } from './detach-keys.js';
import { hijack, streamContentType } from './hijack.js';
import { flag } from './http.js';
import type { Call, Router } from './router.js';
import { frame, STDERR, STDOUT, streamWriter } from './stdcopy.js';

const log = logger('dockerapi');

/** Docker's time parameters: unix seconds (with fractions) or RFC 3339; undefined when absent or 0. */
function timeParam(c: Call, name: string): number | undefined {
  const v = c.query.get(name);
  if (!v || v === '0') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const ms = parseSince(v);
  if (Number.isNaN(ms)) throw invalidArgument(`Invalid ${name} "${v}": use unix seconds or RFC 3339`);
  return ms;
}

/** The streams an attach or exec connects to a hijacked connection. */
export function socketStreams(
  socket: Duplex,
  tty: boolean,
  o: { stdin: boolean; stdout: boolean; stderr: boolean },
): ContainerStreams {
  const discard = streamWriter({ write: () => true }, STDOUT, true);
  return {
    ...(o.stdin ? { stdin: socket } : {}),
    stdout: o.stdout ? streamWriter(socket, STDOUT, tty) : discard,
    stderr: o.stderr ? streamWriter(socket, STDERR, tty) : discard,
  };
}

/** Adds attach, wait and logs to `r`. */
export function containerStreamRoutes(r: Router, api: Api): void {
  const { engine, sessions } = api;

  r.add('POST', '/containers/{id}/attach', async (c) => {
    const rec = engine.containers.get(c.params.id!);
    const [stream, logs] = [flag(c, 'stream'), flag(c, 'logs')];
    if (!stream && !logs) throw invalidArgument('Bad parameters: use stream=1, logs=1 or both');
    // Checked before the connection is taken over, so that bad keys are an HTTP error.
    const keys = parseDetachKeys(c.query.get('detachKeys'));
    const socket = hijack(c, rec.config.tty);
    engine.containers.record(rec.id, 'attach');
    const streams = socketStreams(socket, rec.config.tty, {
      stdin: flag(c, 'stdin'),
      stdout: flag(c, 'stdout'),
      stderr: flag(c, 'stderr'),
    });
    const detach = new AbortController();
    // On a terminal the detach keys end the attach and leave the container running.
    if (rec.config.tty && streams.stdin) {
      const input = escapeProxy(keys, () => {
        // The input must not end: its end would close the container's stdin.
        socket.unpipe(input);
        engine.containers.record(rec.id, 'detach');
        detach.abort();
      });
      socket.pipe(input);
      streams.stdin = input;
    }
    socket.on('close', () => detach.abort());
    socket.on('error', (e) => log.debug('attach connection failed', { id: rec.id, err: e }));
    // async: a refusal (a paused container) is a rejection, also inside a start's callback.
    const attach = async (fromOffset?: number) =>
      engine.containers.attach(rec.id, {
        ...streams,
        ...(fromOffset === undefined ? {} : { fromOffset }),
        onResize: (fn) => sessions.onResize(rec.id, fn),
        signal: detach.signal,
      });
    // Ends the connection once the output is written; resolves when it is flushed or closed.
    const finish = (p: Promise<unknown>) =>
      p
        .catch((e: unknown) => log.debug('attach ended', { id: rec.id, err: e as Error }))
        .then(
          () =>
            new Promise<void>((resolve) => {
              socket.once('close', () => resolve());
              socket.end(() => resolve());
            }),
        );
    // logs=1: what the container wrote so far comes first (from the log's start).
    if (!stream) {
      await finish(
        engine.containers.logs(rec.id, {}, (e) =>
          (e.stream === 'stderr' ? streams.stderr : streams.stdout).write(e.data),
        ),
      );
      return;
    }
    if (rec.state === 'running') {
      const done = finish(attach(logs ? 0 : undefined));
      sessions.streaming(rec.id, done);
      await done;
      return;
    }
    // `docker run` and `docker start -a` attach first and start afterwards: output from
    // the coming start on is what they want. A wait on that run is answered after this
    // connection has its output (Sessions.streaming), registered as the start is recorded.
    const offset = logs ? 0 : engine.containers.logOffset(rec.id);
    let done: Promise<void> | undefined;
    const started = new Promise<void>((resolve, reject) => {
      sessions.onNextStart(
        rec.id,
        () => {
          done = finish(attach(offset));
          sessions.streaming(rec.id, done);
          resolve();
        },
        detach.signal,
      );
      detach.signal.addEventListener('abort', () => reject(detach.signal.reason));
    });
    await started.then(
      () => done,
      (e: unknown) => finish(Promise.reject(e)),
    );
  });

  r.add('POST', '/containers/{id}/wait', async (c) => {
    const condition = c.query.get('condition') || 'not-running';
    if (!['not-running', 'next-exit', 'removed'].includes(condition))
      throw invalidArgument(`Invalid wait condition "${condition}": use not-running, next-exit or removed`);
    const rec = engine.containers.get(c.params.id!);
    // Headers now, the status when it comes (as dockerd: the client knows the wait is set).
    c.res!.writeHead(200, { 'Content-Type': 'application/json' });
    c.res!.flushHeaders();
    let exit: Promise<number | undefined>;
    if (rec.state === 'running')
      exit = sessions.currentExit(rec.id) ?? engine.containers.wait(rec.id, { signal: c.signal });
    else if (condition === 'not-running') exit = Promise.resolve(rec.exitCode);
    else
      exit =
        sessions.undeliveredExit(rec.id) ??
        sessions.nextStart(rec.id, c.signal).then(() => sessions.currentExit(rec.id));
    const code = await exit;
    if (condition === 'removed') await waitRemoved(api, rec.id, c.signal);
    c.res!.end(JSON.stringify({ StatusCode: code ?? rec.exitCode, Error: null }));
  });

  r.add('GET', '/containers/{id}/logs', async (c) => {
    const rec = engine.containers.get(c.params.id!);
    const [stdout, stderr] = [flag(c, 'stdout'), flag(c, 'stderr')];
    if (!stdout && !stderr) throw invalidArgument('Bad parameters: you must choose at least one stream');
    if (rec.config.log?.driver === 'none')
      throw new BerthError('NotImplemented', 'configured logging driver does not support reading');
    const until = timeParam(c, 'until');
    // dockerd reads a `tail` that is not a whole number (`all`, `-1`, a typo) as all lines.
    const tailParam = c.query.get('tail') ?? '';
    const tail = /^\d+$/.test(tailParam) ? Number(tailParam) : undefined;
    const since = timeParam(c, 'since');
    const res = c.res!;
    res.writeHead(200, { 'Content-Type': streamContentType(c.version, rec.config.tty) });
    const timestamps = flag(c, 'timestamps');
    await engine.containers.logs(
      rec.id,
      {
        follow: flag(c, 'follow'),
        signal: c.signal,
        ...(tail === undefined ? {} : { tail }),
        ...(since === undefined ? {} : { since }),
      },
      (e) => {
        if (until !== undefined && Date.parse(e.time) >= until) return;
        if (e.stream === 'stdout' ? !stdout : !stderr) return;
        // Docker's RFC 3339 with nanoseconds, in UTC with `Z` (conmon writes `+00:00`).
        const data = timestamps
          ? Buffer.concat([Buffer.from(`${e.time.replace(/\+00:00$/, 'Z')} `), e.data])
          : e.data;
        res.write(rec.config.tty ? data : frame(e.stream === 'stdout' ? STDOUT : STDERR, data));
      },
    );
    res.end();
  });
}

/** Resolves once container `id` is gone (its removal is journaled as `destroy`). */
async function waitRemoved(api: Api, id: string, signal: AbortSignal): Promise<void> {
  const gone = () => {
    try {
      api.engine.containers.get(id);
      return false;
    } catch (e) {
      if (isNotFound(e)) return true;
      throw e;
    }
  };
  const from = Date.now();
  if (gone()) return;
  const found = new AbortController();
  const stop = AbortSignal.any([signal, found.signal]);
  await api.engine.system
    .events({ since: from, filters: { container: [id], event: ['destroy'] } }, () => found.abort(), stop)
    .catch((e: unknown) => {
      if (!found.signal.aborted) throw e;
    });
}
