/**
 * A Bearer-token front for a test registry, speaking Docker Hub's scheme: requests without a
 * valid token get 401 with a `WWW-Authenticate: Bearer realm=...,service=...,scope=...`
 * challenge; `/token` hands out tokens (to anyone, or only to given Basic credentials);
 * authorised requests are proxied to the registry. It can also corrupt, stall or pad blob
 * downloads, to test verification, interrupted pulls and size limits.
 */
import http from 'node:http';
import { freePort } from './etcd.js';

export interface BearerProxy {
  host: string;
  tokensIssued: number;
  /** Flip a byte in every blob body. */
  corruptBlobs: boolean;
  /** Send half of each blob body, then stall. */
  stallBlobs: boolean;
  /** Send this blob (by digest) without a Content-Length and followed by `padBytes` zero bytes. */
  padBlob?: string;
  padBytes: number;
  /** Bytes of padding the client accepted before it closed the connection. */
  padSent: number;
  close(): Promise<void>;
}

export async function startBearerProxy(
  upstream: string,
  options: { user?: string; password?: string } = {},
): Promise<BearerProxy> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const sockets = new Set<import('node:net').Socket>();
  const state: BearerProxy = {
    host,
    tokensIssued: 0,
    corruptBlobs: false,
    stallBlobs: false,
    padBytes: 0,
    padSent: 0,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  const valid = new Set<string>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    if (url.pathname === '/token') {
      if (options.user) {
        const want = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
        if (req.headers.authorization !== want) {
          res.writeHead(401).end('{"details":"bad credentials"}');
          return;
        }
      }
      const token = `tok${state.tokensIssued++}`;
      valid.add(token);
      res
        .writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ token, expires_in: 300 }));
      return;
    }
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ') || !valid.has(auth.slice(7))) {
      const repo = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(url.pathname)?.[1];
      const scope = repo ? `,scope="repository:${repo}:pull"` : '';
      res
        .writeHead(401, {
          'WWW-Authenticate': `Bearer realm="http://${host}/token",service="berth-test"${scope}`,
          'Content-Type': 'application/json',
        })
        .end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    const up = http.request(`http://${upstream}${req.url}`, { method: req.method, headers }, (ur) => {
      const isBlob = req.method === 'GET' && /\/blobs\/sha256:/.test(url.pathname) && ur.statusCode === 200;
      if (isBlob && state.padBlob && url.pathname.endsWith(`/blobs/${state.padBlob}`)) {
        const { 'content-length': _length, ...rest } = ur.headers;
        res.writeHead(200, rest);
        ur.pipe(res, { end: false });
        ur.on('end', () => pad(res));
        return;
      }
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      if (!isBlob || (!state.corruptBlobs && !state.stallBlobs)) {
        ur.pipe(res);
        return;
      }
      const total = Number(ur.headers['content-length'] ?? 0);
      let sent = 0;
      let flipped = false;
      ur.on('data', (chunk: Buffer) => {
        if (state.stallBlobs) {
          const room = Math.max(0, Math.floor(total / 2) - sent);
          if (room > 0) res.write(chunk.subarray(0, room));
          sent += chunk.length;
          return; // never end: the client waits on a half-sent blob
        }
        if (!flipped && chunk.length > 0) {
          chunk[0] = chunk[0]! ^ 0xff;
          flipped = true;
        }
        res.write(chunk);
      });
      ur.on('end', () => {
        if (!state.stallBlobs) res.end();
      });
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  // Writes zeros as fast as the client takes them, counting them, until padBytes or a close.
  function pad(res: http.ServerResponse): void {
    const chunk = Buffer.alloc(1 << 16);
    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    const more = () => {
      while (!closed && state.padSent < state.padBytes) {
        state.padSent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', more);
          return;
        }
      }
      if (!closed) res.end();
    };
    more();
  }
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return state;
}
