/**
 * The Service address range (`berth server --service-cidr`, default 10.43.0.0/16 as k3s): the
 * ClusterIP allocator draws from it, its first address is the `kubernetes` Service (and goes
 * in the API server's certificate), and its tenth is the cluster DNS unless --cluster-dns says
 * otherwise. IPv4 only: pods have no IPv6 addresses (docs/networking.md).
 */
import { invalidArgument } from '../../core/errors.js';

export interface ServiceCidr {
  /** As written: `10.43.0.0/16`. */
  readonly cidr: string;
  /** How many addresses the range has (network and broadcast included). */
  readonly size: number;
  /** The `kubernetes` Service's address (the range's first usable one). */
  readonly kubernetesIP: string;
  /** The address `offset` places into the range (0 is the network address). */
  nth(offset: number): string;
  /** The offset of `ip` in the range, or undefined when it is not an IPv4 address in it. */
  offsetOf(ip: string): number | undefined;
}

const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The address as a 32-bit number, or undefined when it is not a dotted IPv4 address. */
export function ipv4ToNumber(ip: string): number | undefined {
  const m = v4.exec(ip);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
}

const numberToIpv4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** The widest range: upstream's limit (a bitmap of at most 2^20 addresses). */
const MIN_PREFIX = 12;
/** The narrowest: it must hold the `kubernetes` Service (.1) and the cluster DNS (.10). */
const MAX_PREFIX = 28;

/** Parses `--service-cidr`; a value that is not a usable IPv4 range is an error naming it. */
export function parseServiceCidr(text: string, flag = '--service-cidr'): ServiceCidr {
  const bad = (why: string) => invalidArgument(`Invalid ${flag} "${text}": ${why}`);
  if (text.includes(':'))
    throw bad('IPv6 Service addresses are not supported; give an IPv4 range such as 10.43.0.0/16');
  const [addr = '', bits, ...more] = text.split('/');
  const base = ipv4ToNumber(addr);
  const prefix = Number(bits);
  if (base === undefined || more.length || bits === undefined || !/^\d{1,2}$/.test(bits) || prefix > 32)
    throw bad('an IPv4 range in CIDR notation is needed, such as 10.43.0.0/16');
  if (prefix < MIN_PREFIX) throw bad(`the range is too large: the prefix must be /${MIN_PREFIX} or longer`);
  if (prefix > MAX_PREFIX)
    throw bad(
      `the range is too small: the prefix must be /${MAX_PREFIX} or shorter, to hold the kubernetes Service (.1) and the cluster DNS (.10)`,
    );
  const size = 2 ** (32 - prefix);
  const network = base - (base % size);
  if (network !== base)
    throw bad(
      `the address has bits set beyond the prefix (the range would be ${numberToIpv4(network)}/${prefix})`,
    );
  return {
    cidr: text,
    size,
    kubernetesIP: numberToIpv4(network + 1),
    nth: (offset) => numberToIpv4(network + offset),
    offsetOf(ip) {
      const n = ipv4ToNumber(ip);
      return n !== undefined && n >= network && n < network + size ? n - network : undefined;
    },
  };
}

export const defaultServiceCidr = parseServiceCidr('10.43.0.0/16');

/**
 * The cluster DNS address: `--cluster-dns` when given (it must be a usable address of the
 * range, since the kube-dns Service holds it as its ClusterIP), else the range's tenth address.
 */
export function clusterDnsAddress(range: ServiceCidr, flag?: string): string {
  if (flag === undefined) return range.nth(10);
  const offset = range.offsetOf(flag);
  if (offset === undefined)
    throw invalidArgument(
      `Invalid --cluster-dns "${flag}": an IPv4 address in --service-cidr ${range.cidr} is needed (the kube-dns Service holds it)`,
    );
  if (offset === 0 || offset === range.size - 1 || offset === 1)
    throw invalidArgument(
      `Invalid --cluster-dns "${flag}": ${offset === 1 ? `it is the kubernetes Service's address` : 'it is not a usable address'} of --service-cidr ${range.cidr}`,
    );
  return flag;
}
