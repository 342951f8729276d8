/**
 * Hop-by-hop header fields (RFC 9110 7.6.1): they belong to one connection, so a proxy never
 * passes them on, nor the fields its Connection header names. The API server's pod and
 * service proxy and the Ingress proxy both forward with this list.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** The fields that are hop-by-hop whatever Connection says, lower-cased as Node gives them. */
export const hopByHopHeaders: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/** A field named by `Connection: close`: `Close` is a reserved name (RFC 9110 7.6.1), dropped too. */
const closeOnly: readonly string[] = ['close'];

/** The names a Connection header lists (lower-cased): hop-by-hop too; undefined for none. */
export function connectionTokens(v: string | string[] | undefined): readonly string[] | undefined {
  if (v === undefined) return undefined;
  const s = Array.isArray(v) ? v.join(',') : v;
  // Nearly every client sends none, `keep-alive` (dropped anyway) or `close`: no list to build.
  if (/^\s*keep-alive\s*$/i.test(s)) return undefined;
  if (/^\s*close\s*$/i.test(s)) return closeOnly;
  const out = s
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  return out.length ? out : undefined;
}

/**
 * The headers of `h` that are passed on: not HTTP/2 pseudo-headers, not in `skip` (which holds
 * hopByHopHeaders and the caller's own), not named by its Connection header. Proxies call it
 * on every request: no Set or entry array is built for it.
 */
export function endToEnd(h: IncomingHttpHeaders, skip: ReadonlySet<string>): OutgoingHttpHeaders {
  const listed = connectionTokens(h.connection);
  const out: OutgoingHttpHeaders = {};
  for (const k of Object.keys(h)) {
    const v = h[k];
    if (v === undefined || k.charCodeAt(0) === 58 /* : */ || skip.has(k) || listed?.includes(k)) continue;
    out[k] = v;
  }
  return out;
}
