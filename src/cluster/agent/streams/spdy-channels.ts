/**
 * Exec and attach over SPDY/3.1 (Kubernetes' remotecommand protocols v4 and v5 on SPDY), which
 * client-go's SPDY executor speaks (kubectl with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false, older
 * kubectl, and most Go tools): the client opens one stream per channel, each named by its
 * `streamType` header (`error`, `stdin`, `stdout`, `stderr`, `resize`); stdin ends with FIN,
 * resizes are JSON objects one after the other, and the final Status goes on the error stream.
 * The result is the same {@link ChannelSession} the WebSocket protocol gives.
 */
import { logger } from '../../../core/log.js';
import type { TerminalSize } from '../runtime.js';
import { type ChannelOptions, type ChannelSession, sessionOf } from './channel-session.js';
import type { SpdySession, SpdyStream } from './spdy.js';
import { parseTerminalSize, TerminalSizes } from './terminal-sizes.js';

const log = logger('agent');

/** The protocols served, best first (the client lists its own in X-Stream-Protocol-Version). */
export const spdyChannelProtocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

/** How long the client has to open the streams it asked for. */
const streamsWaitMs = 30_000;

/** Splits a stream of JSON objects (`{...}{...}` or one per line) into sizes. */
function resizeReader(onSize: (s: TerminalSize) => void): (chunk: Buffer) => void {
  let text = '';
  return (chunk) => {
    text += chunk.toString();
    for (;;) {
      const end = text.indexOf('}');
      if (end < 0) return;
      const one = text.slice(0, end + 1).trim();
      text = text.slice(end + 1);
      try {
        onSize(parseTerminalSize(one));
      } catch (e) {
        log.debug('bad resize message', { err: e as Error });
      }
    }
  };
}

/** Waits for the streams `opts` asks for on `session`, then serves them as a session. */
export function spdyChannelSession(session: SpdySession, opts: ChannelOptions): Promise<ChannelSession> {
  const want = new Set([
    'error',
    ...(opts.stdin ? ['stdin'] : []),
    ...(opts.stdout ? ['stdout'] : []),
    ...(opts.stderr && !opts.tty ? ['stderr'] : []),
    ...(opts.tty ? ['resize'] : []),
  ]);
  const got = new Map<string, SpdyStream>();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.close();
      reject(new Error(`the client did not open its streams (${[...want].join(', ')}) in time`));
    }, streamsWaitMs);
    session.on('close', () => {
      clearTimeout(timer);
      reject(new Error('the client went away before it opened its streams'));
    });
    session.on('stream', (s) => {
      const type = s.headers.get('streamtype') ?? '';
      if (!want.has(type) || got.has(type)) return s.reset();
      got.set(type, s);
      if (got.size < want.size) return;
      clearTimeout(timer);
      resolve(serve(session, got, opts));
    });
  });
}

function serve(session: SpdySession, got: Map<string, SpdyStream>, opts: ChannelOptions): ChannelSession {
  const abort = new AbortController();
  session.on('close', () => abort.abort());
  const errors = got.get('error')!;
  // The client writes nothing on the error stream; reading it lets its FIN through.
  errors.resume();
  const stdout = got.get('stdout');
  const stderr = got.get('stderr');
  const sizes = new TerminalSizes();
  session.on('close', () => sizes.end());
  got.get('resize')?.on(
    'data',
    resizeReader((size) => sizes.push(size)),
  );
  const stdin = got.get('stdin');
  return sessionOf({
    stdin,
    stdout,
    stderr,
    tty: opts.tty,
    sizes,
    signal: abort.signal,
    async sendStatus(status) {
      await new Promise<void>((r) => errors.end(JSON.stringify(status), () => r()));
      await session.end();
    },
  });
}
