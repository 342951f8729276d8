import { invalidArgument } from '../../core/errors.js';

/** An IPv4 subnet as numbers, for overlap checks and address arithmetic. */
export interface Subnet {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

export function parseIPv4(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) throw invalidArgument(`Invalid IPv4 address "${s}"`);
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) throw invalidArgument(`Invalid IPv4 address "${s}"`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** Whether `s` is a dotted IPv4 address (parseIPv4 would accept it). */
export function isIPv4(s: string | undefined): s is string {
  return !!s && /^\d{1,3}(\.\d{1,3}){3}$/.test(s) && s.split('.').every((o) => Number(o) <= 255);
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses `a.b.c.d/n`; the host bits must be zero (as Docker requires). */
export function parseCidr(s: string): Subnet {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m) throw invalidArgument(`Invalid CIDR "${s}": expected a.b.c.d/n`);
  const prefix = Number(m[2]);
  if (prefix < 8 || prefix > 30)
    throw invalidArgument(`Invalid CIDR "${s}": the prefix must be between /8 and /30`);
  const addr = parseIPv4(m[1]!);
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  if ((addr & mask) >>> 0 !== addr)
    throw invalidArgument(
      `Invalid CIDR "${s}": host bits are set (did you mean ${formatIPv4((addr & mask) >>> 0)}/${prefix}?)`,
    );
  return { base: addr, prefix };
}

export function formatCidr(s: Subnet): string {
  return `${formatIPv4(s.base)}/${s.prefix}`;
}

function size(s: Subnet): number {
  return 2 ** (32 - s.prefix);
}

export function contains(s: Subnet, ip: number): boolean {
  return ip >= s.base && ip < s.base + size(s);
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

/** The first usable address (Docker's and podman's default gateway). */
export function firstHost(s: Subnet): string {
  return formatIPv4(s.base + 1);
}
