/**
 * IPv4 address ranges for nftables interval sets: a CIDR less its `except` blocks, and pod
 * addresses, merged into sorted ranges that do not overlap (nft refuses overlapping elements
 * in an interval set without auto-merge, and sorted output keeps the rules' text stable).
 */

import { formatIPv4, isIPv4, parseIPv4 } from '../../engine/network/cidr.js';

/** An inclusive range of IPv4 addresses as 32-bit numbers. */
export type Range = readonly [number, number];

/** The address as a number, or undefined when it is not a dotted IPv4 address. */
export function ipv4ToNumber(ip: string): number | undefined {
  return isIPv4(ip) ? parseIPv4(ip) : undefined;
}

/** The range a CIDR covers (host bits ignored, as upstream's sloppy parse does), or undefined. */
export function cidrRange(cidr: string): Range | undefined {
  const [ip, bits, extra] = cidr.split('/');
  if (extra !== undefined || bits === undefined || !/^\d{1,2}$/.test(bits)) return undefined;
  const n = ipv4ToNumber(ip ?? '');
  const len = Number(bits);
  if (n === undefined || len > 32) return undefined;
  const size = 2 ** (32 - len);
  const start = Math.floor(n / size) * size;
  return [start, start + size - 1];
}

/** Sorts ranges and joins those that overlap or touch. */
export function mergeRanges(ranges: Iterable<Range>): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1] + 1) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** `range` less every range in `holes`. */
export function subtractRanges(range: Range, holes: Iterable<Range>): Range[] {
  let out: Range[] = [range];
  for (const [hs, he] of mergeRanges(holes)) {
    const next: Range[] = [];
    for (const [s, e] of out) {
      if (he < s || hs > e) next.push([s, e]);
      else {
        if (hs > s) next.push([s, hs - 1]);
        if (he < e) next.push([he + 1, e]);
      }
    }
    out = next;
  }
  return out;
}

/** A range as an nft set element: an address, or `first-last`. */
export function rangeElement([s, e]: Range): string {
  return s === e ? formatIPv4(s) : `${formatIPv4(s)}-${formatIPv4(e)}`;
}
