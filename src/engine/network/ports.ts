import { invalidArgument } from '../../core/errors.js';
import { parseIPv4 } from './cidr.js';

/** One published port: `-p [ip:][hostPort:]containerPort[/proto]`. hostPort 0 means "pick one". */
export interface PortMapping {
  hostIP: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

function port(s: string, spec: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > 65535)
    throw invalidArgument(`Invalid port "${s}" in "-p ${spec}": ports are 1-65535`);
  return n;
}

/** Parses Docker's `-p` syntax (ranges `8000-8002:80-82` too). */
export function parsePortSpec(spec: string): PortMapping[] {
  let rest = spec;
  let protocol: 'tcp' | 'udp' = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1);
    if (p !== 'tcp' && p !== 'udp')
      throw invalidArgument(`Invalid protocol "${p}" in "-p ${spec}": use tcp or udp`);
    protocol = p;
    rest = rest.slice(0, slash);
  }
  const parts = rest.split(':');
  let hostIP = '';
  let hostPart = '';
  let ctrPart: string;
  if (parts.length === 1) ctrPart = parts[0]!;
  else if (parts.length === 2) [hostPart, ctrPart] = parts as [string, string];
  else if (parts.length === 3) [hostIP, hostPart, ctrPart] = parts as [string, string, string];
  else
    throw invalidArgument(
      `Invalid port mapping "-p ${spec}": expected [ip:][hostPort:]containerPort[/proto]`,
    );
  if (hostIP) parseIPv4(hostIP);
  const range = (s: string): [number, number] => {
    const [a, b] = s.split('-');
    const lo = port(a!, spec);
    const hi = b === undefined ? lo : port(b, spec);
    if (hi < lo) throw invalidArgument(`Invalid port range "${s}" in "-p ${spec}"`);
    return [lo, hi];
  };
  const [clo, chi] = range(ctrPart);
  const [hlo, hhi] = hostPart ? range(hostPart) : [0, 0];
  if (hostPart && hhi - hlo !== chi - clo)
    throw invalidArgument(`Invalid port mapping "-p ${spec}": the host and container ranges differ in size`);
  const out: PortMapping[] = [];
  for (let i = 0; i <= chi - clo; i++) {
    out.push({ hostIP, hostPort: hostPart ? hlo + i : 0, containerPort: clo + i, protocol });
  }
  return out;
}
