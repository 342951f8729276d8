/**
 * Kubernetes' channel protocol over WebSocket (`v5.channel.k8s.io`, and `v4.channel.k8s.io`
 * without the close signal), which kubectl exec, attach and cp speak: every binary message
 * starts with its channel, 0 stdin, 1 stdout, 2 stderr, 3 the final status (a Status object),
 * 4 terminal resizes (`{"Width":W,"Height":H}`); `[255, 0]` closes stdin (v5), which is how
 * `kubectl cp` ends a tar stream. This turns one connection into the streams of a session.
 */
import { PassThrough, type Readable, Writable } from 'node:stream';
import type WebSocket from 'ws';
import { logger } from '../../../core/log.js';
import type { SessionStreams, TerminalSize } from '../runtime.js';
import { parseTerminalSize, TerminalSizes } from './terminal-sizes.js';

const log = logger('agent');

export const channelProtocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const RESIZE = 4;
const CLOSE = 255;

/** What the client asked for (the query's stdin, stdout, stderr and tty). */
export interface ChannelOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** The end of a session, sent on the status channel. */
export type SessionResult = { exitCode: number } | { error: string };

/** The Status a session ends with, as the kubelet writes it (kubectl turns it into its exit code). */
export function statusOf(result: SessionResult, command: readonly string[] = []): Record<string, unknown> {
  if ('error' in result)
    return { metadata: {}, status: 'Failure', message: result.error, reason: 'InternalError', code: 500 };
  if (result.exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${result.exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(result.exitCode) }] },
  };
}

/** A writer of one output channel; its callback waits until the socket took the message. */
function channelWriter(ws: WebSocket, channel: number): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (ws.readyState !== ws.OPEN) return cb();
      ws.send(Buffer.concat([Buffer.from([channel]), chunk]), { binary: true }, (e) => {
        if (e) log.debug('stream write failed', { channel, err: e });
        cb();
      });
    },
  });
}

export interface ChannelSession {
  /** The session's streams, for the runtime (signal aborts when the client goes away). */
  streams: SessionStreams;
  /** Resolves with the first terminal size (TTY sessions), or undefined if none comes first. */
  firstSize: Promise<TerminalSize | undefined>;
  /** Sends the final status after the output still pending, and closes the connection. */
  finish(result: SessionResult, command?: readonly string[]): Promise<void>;
}

/** What a protocol (WebSocket channels, SPDY streams) gives to make a session of. */
export interface SessionParts {
  stdin: Readable | undefined;
  stdout: Writable | undefined;
  stderr: Writable | undefined;
  tty: boolean;
  sizes: TerminalSizes;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  /** Sends the final Status and closes the connection; called once the output is written. */
  sendStatus(status: Record<string, unknown>): Promise<void>;
}

/** The session of `parts`, whichever protocol carries it. */
export function sessionOf(parts: SessionParts): ChannelSession {
  const { stdin, stdout, stderr } = parts;
  return {
    streams: {
      ...(stdin ? { stdin } : {}),
      ...(stdout ? { stdout } : {}),
      ...(stderr ? { stderr } : {}),
      tty: parts.tty,
      onResize: parts.sizes.onResize,
      signal: parts.signal,
    },
    firstSize: parts.sizes.first,
    async finish(result, command) {
      // The status goes after every byte of output the writers still hold.
      await Promise.all([stdout, stderr].map((w) => (w ? new Promise((r) => w.end(r)) : undefined)));
      await parts.sendStatus(statusOf(result, command));
    },
  };
}

/** Serves the channel protocol on an accepted WebSocket. */
export function channelSession(ws: WebSocket, opts: ChannelOptions): ChannelSession {
  const v5 = ws.protocol === 'v5.channel.k8s.io';
  const abort = new AbortController();
  const stdin = opts.stdin ? new PassThrough() : undefined;
  const sizes = new TerminalSizes();
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary || data.length === 0) return;
    const channel = data[0]!;
    const payload = data.subarray(1);
    if (channel === STDIN && stdin) {
      if (!stdin.write(payload)) {
        ws.pause();
        stdin.once('drain', () => ws.resume());
      }
    } else if (channel === RESIZE) {
      try {
        sizes.push(parseTerminalSize(payload.toString()));
      } catch (e) {
        log.debug('bad resize message', { err: e as Error });
      }
    } else if (channel === CLOSE && v5 && payload[0] === STDIN) stdin?.end();
  });
  ws.on('close', () => {
    sizes.end();
    stdin?.end();
    abort.abort();
  });
  ws.on('error', (e) => log.debug('stream connection failed', { err: e }));
  const stdout = opts.stdout ? channelWriter(ws, STDOUT) : undefined;
  const stderr = opts.stderr && !opts.tty ? channelWriter(ws, STDERR) : undefined;
  return sessionOf({
    stdin,
    stdout,
    stderr,
    tty: opts.tty,
    sizes,
    signal: abort.signal,
    async sendStatus(status) {
      if (ws.readyState !== ws.OPEN) return;
      const message = Buffer.concat([Buffer.from([STATUS]), Buffer.from(JSON.stringify(status))]);
      ws.send(message, { binary: true }, () => ws.close(1000));
    },
  });
}
