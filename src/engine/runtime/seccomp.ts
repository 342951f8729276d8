/**
 * Berth's default seccomp profile, and the reader for `--security-opt seccomp=FILE`.
 *
 * The default is an **allowlist** with the same policy as Docker's default profile: a call
 * not listed fails with EPERM (runc turns calls newer than every listed one into ENOSYS, so
 * programs probing for new kernel features fall back instead of giving up). On top of the
 * plain list: `clone` may not create namespaces (the flags are masked out of its first
 * argument, its second on s390), `clone3` fails with ENOSYS so that glibc falls back to
 * `clone`, where the flags can be seen; `socket` refuses AF_VSOCK; `personality` takes only
 * the harmless personas; io_uring is refused (it bypasses these filters for the calls it
 * submits); and calls that act on the whole host (mount, unshare, setns, bpf, reboot,
 * module loading, clock setting...) are allowed only when the container holds the
 * capability they need, so `--cap-add SYS_ADMIN` gives back what it promises.
 *
 * Both profiles are written as {@link SeccompRule}s, Docker's profile-file model (includes
 * and excludes by capability, architecture and kernel), then resolved for one container's
 * capabilities on this host into the OCI `linux.seccomp` object runc reads.
 */
import { release } from 'node:os';
import { invalidArgument } from '../../core/errors.js';

/** One argument comparison of a rule (OCI `LinuxSeccompArg`). */
export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op:
    | 'SCMP_CMP_NE'
    | 'SCMP_CMP_LT'
    | 'SCMP_CMP_LE'
    | 'SCMP_CMP_EQ'
    | 'SCMP_CMP_GE'
    | 'SCMP_CMP_GT'
    | 'SCMP_CMP_MASKED_EQ';
}

/** The OCI `linux.seccomp` object (the subset Berth writes). */
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: { names: string[]; action: string; errnoRet?: number; args?: SeccompArg[] }[];
}

/** When a rule applies: all of `caps` held, the host's architecture among `arches`, a kernel at least `minKernel`. */
export interface SeccompFilter {
  caps?: string[];
  /** Go's architecture names, as Docker's profile files use them: amd64, arm64, s390x... */
  arches?: string[];
  /** `MAJOR.MINOR`. */
  minKernel?: string;
}

/** One rule of a profile, in Docker's profile-file shape. */
export interface SeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
  /** The rule applies only when all of this holds... */
  includes?: SeccompFilter;
  /** ...and none of this does (any listed capability or architecture excludes it). */
  excludes?: SeccompFilter;
}

/** The host a profile is resolved for. */
export interface SeccompHost {
  /** Go's architecture name (amd64, arm64, s390x). Default: this machine's. */
  arch?: string;
  /** The kernel release (`6.1.0-13-amd64`). Default: this machine's. */
  kernel?: string;
}

const EPERM = 1;
const ENOSYS = 38;
const AF_VSOCK = 40;
// CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
const CLONE_NAMESPACE_FLAGS =
  0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

/** The libseccomp architectures a host filters: its own and the 32-bit ABIs it can also run. */
const seccompArches: Record<string, string[]> = {
  amd64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
  s390x: ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390'],
};

/** Node's `process.arch` in Go's spelling, which profile files use. */
const goArch: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  s390x: 's390x',
  ia32: '386',
  arm: 'arm',
};

/** Words of a template literal: the tables below read as lists. */
function w(s: TemplateStringsArray): string[] {
  return s.join('').split(/\s+/).filter(Boolean);
}

/** Calls every container may make, whatever its capabilities, grouped by what they are for. */
const everyone = {
  /** Who the process is: user and group IDs, capabilities it already holds. */
  identity: w`
    capget capset getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32
    getresgid getresgid32 getresuid getresuid32 getuid getuid32 setfsgid setfsgid32 setfsuid
    setfsuid32 setgid setgid32 setgroups setgroups32 setregid setregid32 setresgid setresgid32
    setresuid setresuid32 setreuid setreuid32 setuid setuid32
  `,
  /** Signals. */
  signals: w`
    alarm kill pause pidfd_send_signal restart_syscall rt_sigaction rt_sigpending rt_sigprocmask
    rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
    rt_tgsigqueueinfo sigaltstack signalfd signalfd4 sigprocmask sigreturn tgkill tkill
  `,
  /** Sockets (socket itself is a rule of its own, for AF_VSOCK). */
  sockets: w`
    accept accept4 bind connect getpeername getsockname getsockopt listen recv recvfrom recvmmsg
    recvmmsg_time64 recvmsg send sendmmsg sendmsg sendto setsockopt shutdown socketcall socketpair
  `,
  /** System V and POSIX message queues, semaphores and shared memory. */
  ipc: w`
    ipc mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
    mq_timedsend_time64 mq_unlink msgctl msgget msgrcv msgsnd semctl semget semop semtimedop
    semtimedop_time64 shmat shmctl shmdt shmget
  `,
  /** Waiting on file descriptors and futexes. */
  waiting: w`
    epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait
    epoll_wait_old eventfd eventfd2 fanotify_mark futex futex_time64 futex_waitv inotify_add_watch
    inotify_init inotify_init1 inotify_rm_watch _newselect poll ppoll ppoll_time64 pselect6
    pselect6_time64 select
  `,
  /** Linux native asynchronous I/O (not io_uring, which is refused). */
  aio: w`
    io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup io_submit
  `,
  /** Memory mappings. */
  memory: w`
    brk madvise membarrier memfd_create memfd_secret mincore mlock mlock2 mlockall mmap mmap2
    mprotect mremap msync munlock munlockall munmap pkey_alloc pkey_free pkey_mprotect
    remap_file_pages
  `,
  /** Scheduling, priorities and resource limits. */
  scheduling: w`
    getcpu getpriority getrlimit getrusage ioprio_get ioprio_set prlimit64 sched_getaffinity
    sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler
    sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr
    sched_setparam sched_setscheduler sched_yield setpriority setrlimit sysinfo ugetrlimit uname
  `,
  /** Processes and threads (clone is a rule of its own). */
  processes: w`
    execve execveat exit exit_group fork getpgid getpgrp getpid getppid get_robust_list getsid
    get_thread_area gettid landlock_add_rule landlock_create_ruleset landlock_restrict_self
    pidfd_open prctl process_mrelease rseq seccomp setpgid set_robust_list setsid set_thread_area
    set_tid_address umask vfork wait4 waitid waitpid
  `,
  /** Extended attributes. */
  xattrs: w`
    fgetxattr flistxattr fremovexattr fsetxattr getxattr lgetxattr listxattr llistxattr lremovexattr
    lsetxattr removexattr setxattr
  `,
  /** Reading clocks and timers (setting them needs CAP_SYS_TIME). */
  clocks: w`
    adjtimex clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
    clock_gettime64 clock_nanosleep clock_nanosleep_time64 getitimer gettimeofday nanosleep
    setitimer time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64
    timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
    timerfd_settime64 times
  `,
  /** Files, directories, pipes and descriptors. */
  files: w`
    access chdir chmod chown chown32 close close_range copy_file_range creat dup dup2 dup3 faccessat
    faccessat2 fadvise64 fadvise64_64 fallocate fchdir fchmod fchmodat fchown fchown32 fchownat
    fcntl fcntl64 fdatasync flock fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate
    ftruncate64 futimesat getcwd getdents getdents64 getrandom ioctl lchown lchown32 link linkat
    _llseek lseek lstat lstat64 mkdir mkdirat mknod mknodat name_to_handle_at newfstatat open openat
    openat2 pipe pipe2 pread64 preadv preadv2 pwrite64 pwritev pwritev2 read readahead readlink
    readlinkat readv rename renameat renameat2 rmdir sendfile sendfile64 splice stat stat64 statfs
    statfs64 statx symlink symlinkat sync sync_file_range syncfs tee truncate truncate64 unlink
    unlinkat utime utimensat utimensat_time64 utimes vmsplice write writev
  `,
};

const allow = 'SCMP_ACT_ALLOW';
const withCap = (cap: string, names: string[]): SeccompRule => ({
  names,
  action: allow,
  includes: { caps: [cap] },
});
const onArches = (arches: string[], names: string[]): SeccompRule => ({
  names,
  action: allow,
  includes: { arches },
});
const persona = (value: number): SeccompRule => ({
  names: ['personality'],
  action: allow,
  args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }],
});
const cloneWithoutNamespaces = (index: number): SeccompArg[] => [
  { index, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' },
];

/** The default profile's rules, before they are resolved for one container. */
export const defaultSeccompRules: readonly SeccompRule[] = [
  { names: Object.values(everyone).flat(), action: allow },
  // Before 4.8 a ptraced process could step around seccomp.
  { names: w`ptrace process_vm_readv process_vm_writev`, action: allow, includes: { minKernel: '4.8' } },
  { names: ['socket'], action: allow, args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] },
  // PER_LINUX and PER_LINUX32, each with UNAME26, and the query (0xffffffff): no persona that
  // changes memory layout or makes data executable (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC).
  ...[0x0, 0x8, 0x20000, 0x20008, 0xffffffff].map(persona),
  onArches(['amd64', 'x32'], ['arch_prctl']),
  onArches(['amd64', 'x32', '386'], ['modify_ldt']),
  onArches(
    ['arm', 'arm64'],
    w`arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls`,
  ),
  onArches(['s390', 's390x'], w`s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr`),
  onArches(['ppc64le'], w`sync_file_range2 swapcontext`),
  onArches(['riscv64'], ['riscv_flush_icache']),
  {
    names: ['clone'],
    action: allow,
    args: cloneWithoutNamespaces(0),
    excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
  },
  {
    // s390 passes clone's flags second.
    names: ['clone'],
    action: allow,
    args: cloneWithoutNamespaces(1),
    includes: { arches: ['s390', 's390x'] },
    excludes: { caps: ['CAP_SYS_ADMIN'] },
  },
  // clone3 passes its flags in memory that seccomp cannot read: ENOSYS makes libc use clone.
  { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, excludes: { caps: ['CAP_SYS_ADMIN'] } },
  withCap(
    'CAP_SYS_ADMIN',
    w`
      bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr
      move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog
      umount umount2 unshare
    `,
  ),
  withCap('CAP_DAC_READ_SEARCH', ['open_by_handle_at']),
  withCap('CAP_SYS_BOOT', ['reboot']),
  withCap('CAP_SYS_CHROOT', ['chroot']),
  withCap('CAP_SYS_MODULE', w`delete_module init_module finit_module`),
  withCap('CAP_SYS_PACCT', ['acct']),
  withCap('CAP_SYS_PTRACE', w`kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace`),
  withCap('CAP_SYS_RAWIO', w`iopl ioperm`),
  withCap('CAP_SYS_TIME', w`settimeofday stime clock_settime clock_settime64`),
  withCap('CAP_SYS_TTY_CONFIG', ['vhangup']),
  withCap('CAP_SYS_NICE', w`get_mempolicy mbind set_mempolicy set_mempolicy_home_node`),
  withCap('CAP_SYSLOG', ['syslog']),
  withCap('CAP_BPF', ['bpf']),
  withCap('CAP_PERFMON', ['perf_event_open']),
];

function kernelAtLeast(kernel: string, min: string): boolean {
  const [a = 0, b = 0] = kernel.split(/[.-]/).map(Number);
  const [c = 0, d = 0] = min.split('.').map(Number);
  return a > c || (a === c && b >= d);
}

function applies(rule: SeccompRule, caps: ReadonlySet<string>, arch: string, kernel: string): boolean {
  const inc = rule.includes ?? {};
  const exc = rule.excludes ?? {};
  if (inc.caps?.some((c) => !caps.has(c))) return false;
  if (inc.arches && !inc.arches.includes(arch)) return false;
  if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) return false;
  if (exc.caps?.some((c) => caps.has(c))) return false;
  if (exc.arches?.includes(arch)) return false;
  if (exc.minKernel && kernelAtLeast(kernel, exc.minKernel)) return false;
  return true;
}

/**
 * Resolves rules for a container holding `capabilities` (full `CAP_*` names) on `host`: the
 * rules that apply, in order, with the host's architectures. Pure.
 */
export function resolveSeccompProfile(
  profile: {
    defaultAction: string;
    defaultErrnoRet?: number;
    rules: readonly SeccompRule[];
    architectures?: string[];
  },
  capabilities: readonly string[],
  host: SeccompHost = {},
): SeccompProfile {
  const arch = host.arch ?? goArch[process.arch] ?? process.arch;
  const kernel = host.kernel ?? release();
  const caps = new Set(capabilities);
  const syscalls: SeccompProfile['syscalls'] = [];
  for (const r of profile.rules) {
    if (!applies(r, caps, arch, kernel)) continue;
    syscalls.push({
      names: [...r.names],
      action: r.action,
      ...(r.errnoRet !== undefined ? { errnoRet: r.errnoRet } : {}),
      ...(r.args?.length ? { args: r.args.map((a) => ({ ...a })) } : {}),
    });
  }
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    architectures: profile.architectures ?? seccompArches[arch] ?? [],
    syscalls,
  };
}

/** The default profile for a container holding `capabilities` (full `CAP_*` names). */
export function defaultSeccompProfile(
  capabilities: readonly string[],
  host: SeccompHost = {},
): SeccompProfile {
  return resolveSeccompProfile(
    { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: EPERM, rules: defaultSeccompRules },
    capabilities,
    host,
  );
}

/** The parts of a Docker-format profile file that Berth reads. */
interface ProfileFile {
  defaultAction?: unknown;
  defaultErrnoRet?: unknown;
  architectures?: unknown;
  archMap?: { architecture?: string; subArchitectures?: string[] }[];
  syscalls?: (Partial<SeccompRule> & { name?: string })[];
}

/**
 * Checks a `--security-opt seccomp=FILE` profile (Docker's format, which also reads plain
 * OCI `linux.seccomp` objects) and resolves it for a container, as Docker does at start.
 * Throws InvalidArgument naming what is wrong.
 */
export function customSeccompProfile(
  text: string,
  capabilities: readonly string[],
  host: SeccompHost = {},
): SeccompProfile {
  let file: ProfileFile;
  try {
    file = JSON.parse(text) as ProfileFile;
  } catch (e) {
    throw invalidArgument(`Decoding seccomp profile failed: ${(e as Error).message}`);
  }
  if (typeof file !== 'object' || file === null || typeof file.defaultAction !== 'string')
    throw invalidArgument('Decoding seccomp profile failed: it has no "defaultAction"');
  if (file.architectures !== undefined && file.archMap !== undefined)
    throw invalidArgument(
      'Decoding seccomp profile failed: use either "architectures" or "archMap", not both',
    );
  const rules: SeccompRule[] = [];
  for (const [i, s] of (file.syscalls ?? []).entries()) {
    const names = s.names ?? (s.name ? [s.name] : []);
    if (!names.length || typeof s.action !== 'string')
      throw invalidArgument(`Decoding seccomp profile failed: syscalls[${i}] needs "names" and "action"`);
    rules.push({ ...s, names, action: s.action });
  }
  const arch = host.arch ?? goArch[process.arch] ?? process.arch;
  let architectures: string[] | undefined;
  if (Array.isArray(file.architectures)) architectures = file.architectures.map(String);
  else if (file.archMap) {
    const native = seccompArches[arch]?.[0];
    const m = file.archMap.find((a) => a.architecture === native);
    architectures = m ? [m.architecture!, ...(m.subArchitectures ?? [])] : [];
  }
  return resolveSeccompProfile(
    {
      defaultAction: file.defaultAction,
      ...(typeof file.defaultErrnoRet === 'number' ? { defaultErrnoRet: file.defaultErrnoRet } : {}),
      rules,
      ...(architectures ? { architectures } : {}),
    },
    capabilities,
    host,
  );
}
