import { invalidArgument } from '../../core/errors.js';

/** Docker's default capability set for containers (moby's `DefaultCapabilities`). */
export const defaultCapabilities: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Every capability runc 1.1 knows (Linux 5.9+), in kernel order: what `--privileged` grants. */
export const allCapabilities: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** `net_admin`, `NET_ADMIN`, `CAP_NET_ADMIN` -> `CAP_NET_ADMIN`; `ALL` stays `ALL`. */
export function normaliseCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const cap = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!allCapabilities.includes(cap)) throw invalidArgument(`Unknown capability "${name}"`);
  return cap;
}

/**
 * The effective capability set: Docker's defaults (or all, when privileged), then adds,
 * then drops; `--cap-add ALL` starts from every capability and `--cap-drop ALL` from none,
 * and an explicit add wins over `--cap-drop ALL` (Docker's rules).
 */
export function capabilitySet(
  capAdd: readonly string[],
  capDrop: readonly string[],
  privileged: boolean,
): string[] {
  if (privileged) return [...allCapabilities];
  const add = capAdd.map(normaliseCapability);
  const drop = capDrop.map(normaliseCapability);
  let set: Set<string>;
  if (add.includes('ALL')) set = new Set(allCapabilities);
  else set = new Set<string>(drop.includes('ALL') ? [] : defaultCapabilities);
  for (const c of drop) set.delete(c);
  if (!add.includes('ALL')) for (const c of add) set.add(c);
  return allCapabilities.filter((c) => set.has(c));
}

/** The capabilities in a `/proc/PID/status` `CapBnd:` hex mask. */
export function capabilitiesFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim()}`);
  return allCapabilities.filter((_c, i) => (mask >> BigInt(i)) & 1n);
}
