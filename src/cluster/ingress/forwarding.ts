/**
 * What both of the Ingress's request paths (node:http for HTTP/2 and upgrades in proxy.ts, its
 * own HTTP/1.x path in http1-proxy.ts) forward alike: the fields they drop, how many endpoints
 * one request may try, and the client address X-Forwarded-For names.
 */
import { hopByHopHeaders } from '../../core/hop-by-hop.js';

/** At most this many endpoints are tried for one request. */
export const MAX_TRIES = 3;

/** Request fields never passed on: hop-by-hop (RFC 9110 7.6.1), framing, and ours to set. */
export const droppedInRequest: ReadonlySet<string> = new Set([
  ...hopByHopHeaders,
  'http2-settings',
  'expect',
  'host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
]);

/** Response fields never passed on: the hop-by-hop ones. */
export const droppedInResponse: ReadonlySet<string> = new Set(hopByHopHeaders);

/** The client's address as X-Forwarded-For gives it: an IPv4-mapped IPv6 address as plain IPv4. */
export function clientAddress(s: { remoteAddress?: string | undefined }): string {
  const a = s.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}
