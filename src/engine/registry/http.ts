import { readFileSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { BerthError } from '../../core/errors.js';

/** The system's CA bundle (Debian's ca-certificates), so registries with public certificates verify as Docker's do. */
let systemCa: Buffer | undefined | null = null;
function caBundle(): Buffer | undefined {
  if (systemCa === null) {
    try {
      systemCa = readFileSync('/etc/ssl/certs/ca-certificates.crt');
    } catch {
      systemCa = undefined;
    }
  }
  return systemCa;
}

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
let httpsAgent: https.Agent | undefined;

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  /** A body: a buffer, or a stream (sent chunked unless Content-Length is given). */
  body?: Buffer | Readable;
  /** Follow up to this many redirects for GET and HEAD. Default: 5. */
  maxRedirects?: number;
  /** Aborts the request and its response body. */
  signal?: AbortSignal;
  /**
   * Fails when the connection is silent this long, while connecting or while the body
   * streams (a registry that stops sending). Default: {@link IDLE_TIMEOUT_MS}.
   */
  idleTimeoutMs?: number;
}

/** A registry silent for this long (no bytes either way) is given up on. */
export const IDLE_TIMEOUT_MS = 60_000;

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The response body; read it or call `discard`. */
  body: IncomingMessage;
  url: string;
}

/** Reads a whole response body, refusing one larger than `limit` bytes. */
export async function readBody(res: HttpResponse, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body) {
    n += (c as Buffer).length;
    if (n > limit) {
      res.body.destroy();
      throw new BerthError('InvalidArgument', `The response from ${res.url} is larger than ${limit} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export function discard(res: HttpResponse): void {
  res.body.resume();
}

/** One HTTP(S) request with keep-alive, system CAs, and errors that name the host. */
export async function httpRequest(url: string, req: HttpRequest = {}): Promise<HttpResponse> {
  const method = req.method ?? 'GET';
  let target = new URL(url);
  for (let hop = 0; ; hop++) {
    const res = await once(target, method, req);
    const loc = res.headers.location;
    if (
      [301, 302, 303, 307, 308].includes(res.status) &&
      loc &&
      (method === 'GET' || method === 'HEAD') &&
      hop < (req.maxRedirects ?? 5)
    ) {
      discard(res);
      const next = new URL(loc, target);
      // Redirects to blob storage must not carry the registry's credentials elsewhere.
      if (next.host !== target.host && req.headers) {
        const { Authorization: _drop, authorization: _drop2, ...rest } = req.headers;
        req = { ...req, headers: rest };
      }
      target = next;
      continue;
    }
    return res;
  }
}

function once(url: URL, method: string, req: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const isHttps = url.protocol === 'https:';
    if (isHttps && !httpsAgent)
      httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 8, ca: caBundle() });
    const headers: Record<string, string> = { 'User-Agent': 'berth', ...(req.headers ?? {}) };
    if (Buffer.isBuffer(req.body)) headers['Content-Length'] = String(req.body.length);
    const r = (isHttps ? https : http).request(
      url,
      { method, headers, agent: isHttps ? httpsAgent : httpAgent, signal: req.signal },
      (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url: url.toString() }),
    );
    // The idle timer stays on the socket while the body streams; a stall destroys the
    // request, which fails the body's reader too.
    r.setTimeout(req.idleTimeoutMs ?? IDLE_TIMEOUT_MS, () =>
      r.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
    );
    r.on('error', (e: NodeJS.ErrnoException) => reject(e.name === 'AbortError' ? e : networkError(url, e)));
    if (!req.body) r.end();
    else if (Buffer.isBuffer(req.body)) r.end(req.body);
    else {
      req.body.on('error', (e) => r.destroy(e));
      req.body.pipe(r);
    }
  });
}

function networkError(url: URL, e: NodeJS.ErrnoException): BerthError {
  const host = url.host;
  switch (e.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new BerthError('Unavailable', `Cannot reach registry ${host}: unknown host`, { cause: e });
    case 'ECONNREFUSED':
      return new BerthError('Unavailable', `Cannot reach registry ${host}: connection refused`, { cause: e });
    case 'ECONNRESET':
      return new BerthError('Unavailable', `Registry ${host} closed the connection`, { cause: e });
    case 'ETIMEDOUT':
      return new BerthError('Unavailable', `Registry ${host} timed out`, { cause: e });
    default:
      if (/certificate|SSL|TLS|wrong version number/i.test(e.message)) {
        return new BerthError(
          'Unavailable',
          `TLS with registry ${host} failed: ${e.message} (for a plain-HTTP registry use --tls-verify=false)`,
          {
            cause: e,
          },
        );
      }
      return new BerthError('Unavailable', `Cannot reach registry ${host}: ${e.message}`, { cause: e });
  }
}
