/**
 * Berth's default seccomp profile. It is a **denylist**: every system call is allowed
 * (`SCMP_ACT_ALLOW`) except the ones Docker's default profile does not allow a container
 * without extra capabilities, which fail with EPERM. Docker's own profile is an allowlist
 * of about 350 calls; the denylist keeps the same calls out while staying short and
 * readable, at the price that a system call added to a future kernel is allowed until it
 * is listed here. Calls that Docker allows only with a capability (mount with
 * CAP_SYS_ADMIN, for example) are denied unless that capability is granted.
 */

/** The OCI `linux.seccomp` object (the subset Berth writes). */
export interface SeccompProfile {
  defaultAction: string;
  architectures: string[];
  syscalls: { names: string[]; action: string; errnoRet?: number }[];
}

const EPERM = 1;

/** Denied whatever capabilities the container has. */
const alwaysDenied = [
  'acct',
  'add_key',
  'bpf',
  'clock_adjtime',
  'clock_settime',
  'create_module',
  'delete_module',
  'finit_module',
  'get_kernel_syms',
  'init_module',
  'ioperm',
  'iopl',
  'kcmp',
  'kexec_file_load',
  'kexec_load',
  'keyctl',
  'lookup_dcookie',
  'nfsservctl',
  'open_by_handle_at',
  'perf_event_open',
  'process_vm_readv',
  'process_vm_writev',
  'ptrace',
  'query_module',
  'quotactl',
  'reboot',
  'request_key',
  'setns',
  'settimeofday',
  'stime',
  'swapoff',
  'swapon',
  '_sysctl',
  'sysfs',
  'umount',
  'umount2',
  'unshare',
  'uselib',
  'userfaultfd',
  'ustat',
  'vm86',
  'vm86old',
  'mount',
  'pivot_root',
  'fsconfig',
  'fsmount',
  'fsopen',
  'fspick',
  'move_mount',
  'open_tree',
];

/** Calls that Docker allows once the container holds the named capability. */
const allowedWith: Record<string, readonly string[]> = {
  CAP_SYS_ADMIN: [
    'mount',
    'umount',
    'umount2',
    'unshare',
    'setns',
    'pivot_root',
    'fsconfig',
    'fsmount',
    'fsopen',
    'fspick',
    'move_mount',
    'open_tree',
    'quotactl',
    'lookup_dcookie',
    'perf_event_open',
    'bpf',
  ],
  CAP_SYS_PTRACE: ['ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp'],
  CAP_SYS_MODULE: ['init_module', 'finit_module', 'delete_module'],
  CAP_SYS_BOOT: ['reboot'],
  CAP_SYS_TIME: ['settimeofday', 'stime', 'clock_settime', 'clock_adjtime'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_BPF: ['bpf'],
  CAP_PERFMON: ['perf_event_open'],
};

/** The default profile for a container holding `capabilities` (full `CAP_*` names). */
export function defaultSeccompProfile(capabilities: readonly string[]): SeccompProfile {
  const allowed = new Set<string>();
  for (const cap of capabilities) for (const name of allowedWith[cap] ?? []) allowed.add(name);
  const names = [...new Set(alwaysDenied)].filter((n) => !allowed.has(n)).sort();
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: names.length ? [{ names, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM }] : [],
  };
}
