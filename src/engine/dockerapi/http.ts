/** Reading request bodies and writing JSON answers, for the route handlers. */
import { invalidArgument } from '../../core/errors.js';
import type { Call } from './router.js';

const BODY_LIMIT = 16 * 1024 * 1024;

/** The request's JSON body (`{}` when empty); a malformed one is the client's error. */
export async function jsonBody<T = Record<string, unknown>>(c: Call): Promise<T> {
  const text = (c.upgrade ? await upgradeBody(c, c.upgrade) : await plainBody(c)).toString('utf8').trim();
  if (!text) return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw invalidArgument(`Invalid JSON in request body: ${(e as Error).message}`, e);
  }
}

async function plainBody(c: Call): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of c.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw invalidArgument(`Request body is larger than ${BODY_LIMIT} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * The body of an upgrade request: Node hands such a request over unparsed, its body in
 * `head` (and maybe still on the socket). What follows the body is the client's stream and
 * stays in `head` for the hijacked connection.
 */
async function upgradeBody(c: Call, up: NonNullable<Call['upgrade']>): Promise<Buffer> {
  const length = Number(c.req.headers['content-length'] ?? 0);
  if (!Number.isInteger(length) || length < 0 || length > BODY_LIMIT)
    throw invalidArgument(`Invalid Content-Length "${c.req.headers['content-length']}"`);
  let buf = up.head;
  while (buf.length < length) {
    const chunk = await new Promise<Buffer>((resolve, reject) => {
      const onData = (d: Buffer) => {
        up.socket.off('error', reject);
        up.socket.pause();
        resolve(d);
      };
      up.socket.once('data', onData);
      up.socket.once('error', reject);
      up.socket.resume();
    });
    buf = Buffer.concat([buf, chunk]);
  }
  up.head = buf.subarray(length);
  return buf.subarray(0, length);
}

/** Answers with `status` and `value` as JSON (no body for 204 and 304). */
export function sendJson(c: Call, status: number, value?: unknown): void {
  const res = c.res!;
  if (value === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** A boolean query parameter as Docker reads them (`1`, `true`, `True`). */
export function flag(c: Pick<Call, 'query'>, name: string): boolean {
  const v = c.query.get(name);
  return v !== null && /^(1|true)$/i.test(v);
}

/** Docker's `filters` parameter (`{"key":["v"]}` or the old `{"key":{"v":true}}`). */
export function filters(c: Call): Record<string, string[]> {
  const raw = c.query.get('filters');
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw invalidArgument(`Invalid filters "${raw}": ${(e as Error).message}`, e);
  }
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries((parsed ?? {}) as Record<string, unknown>)) {
    out[k] = Array.isArray(v) ? v.map(String) : Object.keys((v ?? {}) as object);
  }
  return out;
}

/** Filters as the engine's `KEY=VALUE` strings. */
export function filterStrings(f: Record<string, string[]>): string[] {
  return Object.entries(f).flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`));
}
