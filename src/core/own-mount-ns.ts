/**
 * A mount namespace of a program's own, made just before it runs: a copy of the caller's, every
 * mount in it a slave of the original (mounts made on the host later still show in it; nothing
 * made or removed in it reaches the host), optionally without the cgroup v2 hierarchy of a
 * hybrid host, with some mounts of its own.
 *
 * Why: crun refuses a hybrid cgroup host (v1 controllers, v2 mounted beside them at
 * /sys/fs/cgroup/unified) as soon as any controller sits on v2 ("cgroups in hybrid mode not
 * supported, drop all controllers from cgroupv2"); this machine's hugetlb does. Without that
 * mount in its view, crun manages the v1 hierarchies as runc does, and a container start costs
 * about half of runc's CPU (a C program, against a Go program started twice, as `runc create`
 * and as the container's `runc init`). And crun does not mount the root file system the OCI
 * spec gives as a mount at `/` (private-rootfs.ts), so the overlay is mounted here, in the
 * namespace that crun's `create` and then the container copy, never on the host.
 *
 * The steps are Perl's (perl-base is Essential on Debian and already runs the command helper),
 * shared by the command helper (spawner.ts, in its forked child) and a process that has no
 * helper (a `perl -e` in front of the program: {@link commandIn}).
 */

/** What the namespace holds. */
export interface OwnMountNamespace {
  /** Detaches /sys/fs/cgroup/unified in it (a hybrid host's v2 hierarchy). */
  hideCgroupV2?: boolean;
  /** Mounts made in it, in order (mount(2)'s source, target, type and data). */
  mounts?: readonly { source: string; target: string; fstype: string; data: string }[];
}

/**
 * The namespace as one string for the Perl side: the hide flag (`1` or empty), then source,
 * target, type and data of each mount, all joined by NUL.
 */
export function ownMountNsSpec(ns: OwnMountNamespace): string {
  return [
    ns.hideCgroupV2 ? '1' : '',
    ...(ns.mounts ?? []).flatMap((m) => [m.source, m.target, m.fstype, m.data]),
  ].join('\0');
}

/**
 * `own_mount_ns(SPEC)`: in a process about to execute, unshare(CLONE_NEWNS), make every mount
 * a slave (MS_REC | MS_SLAVE), detach the v2 hierarchy when asked (as `umount -l`; a host
 * without it is fine) and make the mounts. Returns '' when done, else the failing step with $!
 * set. System call numbers by architecture, as the helper's namespace verbs have them.
 */
export const OWN_MOUNT_NS_PERL = String.raw`
use Config;
sub own_mount_ns {
  my ($hide, @m) = split /\0/, $_[0], -1;
  my ($arch) = $Config{archname} =~ /^([^-]+)/;
  my ($unshare, $mount, $umount2) = @{ { x86_64 => [272, 165, 166], aarch64 => [97, 40, 39] }->{$arch} || [] };
  defined $unshare or do { $! = 38; return "no system call numbers for $arch" };
  syscall($unshare, 0x00020000) == 0 or return 'unshare a mount namespace';
  my $root = '/';
  syscall($mount, 0, $root, 0, 0x80000 | 0x4000, 0) == 0 or return 'make the mounts slaves';
  if ($hide) {
    my $v2 = '/sys/fs/cgroup/unified';
    syscall($umount2, $v2, 2) == 0 or $!{EINVAL} or $!{ENOENT} or return "detach $v2";
  }
  while (my ($src, $dst, $type, $data) = splice(@m, 0, 4)) {
    syscall($mount, $src, $dst, $type, 0, $data) == 0 or return "mount $type on $dst";
  }
  return '';
}
`;

/**
 * What a process without the command helper spawns to run the program at `path` (argv[0]
 * `argv0`): the program itself, or with `ns`, `perl -e SRC HEXSPEC PATH ARGS...`, which makes
 * the namespace and execs it, so signals, stdio and the exit status are the program's own; a
 * failed step exits 125 with the step on stderr.
 */
export function commandIn(
  ns: OwnMountNamespace | undefined,
  path: string,
  args: readonly string[],
  argv0 = path,
): { file: string; args: string[]; argv0: string } {
  if (!ns) return { file: path, args: [...args], argv0 };
  const src = `${OWN_MOUNT_NS_PERL}
my ($spec, $file, @args) = @ARGV;
my $step = own_mount_ns(pack('H*', $spec));
if (length $step) { print STDERR "$step: $!\n"; exit 125 }
exec { $file } $file, @args or do { print STDERR "exec $file: $!\n"; exit 127 };
`;
  // In hex: an argument cannot hold the spec's NULs.
  const spec = Buffer.from(ownMountNsSpec(ns)).toString('hex');
  return { file: 'perl', args: ['-e', src, spec, path, ...args], argv0: 'perl' };
}
