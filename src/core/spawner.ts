import { type ChildProcess, spawn } from 'node:child_process';
import { OWN_MOUNT_NS_PERL, type OwnMountNamespace, ownMountNsSpec } from './own-mount-ns.js';

/**
 * A small helper process that starts commands for a long-lived Berth process (the server with
 * its embedded agent, `berth agent`, the Docker API service).
 *
 * Why: Node starts a child with fork() then exec(), and fork() copies the page tables of the
 * whole parent, its worker threads' heaps included. In a server holding 150-450 MB that blocks
 * the event loop 7-20 ms per command; a pod start runs about ten commands (ip, mount, CNI
 * plugins, runc) and its removal as many, so in bench/pods half of the agent's main thread went
 * to fork() alone. The helper does that work on its own thread of execution, beside the server's.
 *
 * It is a Perl program (perl-base is Essential on Debian; Berth already needs Perl for the
 * runtime's sealed copy), not a second Node: a fork() marks every written page of the forking
 * process copy-on-write, and a Node helper (45-60 MB, its V8 heap written all the time) then
 * took a page fault for each page it wrote again, besides copying its page tables: about 2 ms
 * of CPU per command in bench/pods, more than most commands' own work. Perl's fork() of its few
 * megabytes costs a fraction of that. Only perl-base's modules are used.
 *
 * Protocol: one line per message each way, fields separated by spaces, each field `x` then its
 * bytes in hex (no field is ever empty, any bytes fit). A request is `start ID DAEMON FILE
 * ARGV0 CWD HASENV ENV HASINPUT INPUT MNTNS ARGS...` (flags `1` or empty; ENV is `K=V` pairs
 * joined by NUL; MNTNS empty, or a mount namespace of the child's own: see own-mount-ns.ts) or
 * `kill ID`, which kills a running one (SIGKILL). A reply is `ID done CODE SIGNAL
 * STDOUT STDERR LINEFLAG LINE` (CODE empty when a signal ended it) or `ID error CODE MESSAGE`
 * for a command that could not start (CODE is the errno's name, as Node's spawn reports it).
 *
 * A request with DAEMON starts a monitor that outlives its start (conmon): in its own session,
 * with fd 3 a pipe on which it reports one line (conmon's sync pipe). The reply comes as soon
 * as that line does (LINEFLAG `line`), or when fd 3 closes without one, with what it wrote to
 * stderr; the helper then lets go of it (and reaps it when it exits).
 *
 * Two verbs are done by the helper itself, in a forked child that executes nothing: `pin ID
 * MNT KINDS FILE...` makes new namespaces for each pod (KINDS is a comma-separated list of
 * net, ipc and uts; FILE one per kind for each pod, in that order) and binds each onto its
 * FILE, in the mount namespace pinned at MNT (none when MNT is `-`), the loopback up in a new
 * network namespace; its stdout has a line `ok` or `no` for each pod. `unpin ID MNT FILE...`
 * detaches and removes pins there. They are what `nsenter`, `unshare` and `ip` did for each pod
 * (three or four programs to start, each loading its shared libraries: about 3.7 ms of CPU per
 * pod in bench/pods). Their reply is a command's, the failing step and path on stderr; `error
 * ENOSYS` where the helper does not know the system call numbers of its architecture.
 *
 * Children get the helper's other descriptors closed (Perl opens them close-on-exec), and the
 * helper waits for each one's exec() before the next, as Node's spawn does, so a program that
 * cannot start is an error reply rather than an exit status 127.
 */
const HELPER_SOURCE = String.raw`
use strict;
${OWN_MOUNT_NS_PERL}
use POSIX ();
use IO::Select;
use Errno ();
use Socket ();
use Config;
$SIG{PIPE} = 'IGNORE';
my @signame = split ' ', $Config{sig_name};
my $sel = IO::Select->new;
my (%kids, %byfh, %status);
my $closing = 0;
my $inbuf = '';
pipe(my $wake_r, my $wake_w) or die "pipe: $!";
for my $fh ($wake_r, $wake_w, \*STDIN) { my $fl = fcntl($fh, POSIX::F_GETFL(), 0); fcntl($fh, POSIX::F_SETFL(), $fl | POSIX::O_NONBLOCK()); }
$sel->add($wake_r, \*STDIN);
$SIG{CHLD} = sub { syswrite($wake_w, 'x') };
my $h = sub { 'x' . unpack('H*', defined $_[0] ? $_[0] : '') };
my $uh = sub { pack('H*', substr($_[0], 1)) };
sub reply { my $line = join(' ', map { $h->($_) } @_) . "\n"; my $off = 0; while ($off < length $line) { my $n = syswrite(STDOUT, $line, length($line) - $off, $off); if (!defined $n) { next if $!{EINTR} || $!{EAGAIN}; exit 1 } $off += $n } }
sub errname { my $e = shift; for my $k (keys %!) { local $! = $e; return $k if $!{$k} } 'EIO' }
sub nonblock { my $fh = shift; my $fl = fcntl($fh, POSIX::F_GETFL(), 0); fcntl($fh, POSIX::F_SETFL(), $fl | POSIX::O_NONBLOCK()) }
sub maybe_exit { exit 0 if $closing && !%kids }
sub finish {
  my ($k, @fields) = @_;
  return if $k->{done};
  $k->{done} = 1;
  for my $fh (grep { defined } $k->{out}, $k->{err}, $k->{sync}, $k->{in}) { $sel->remove($fh); delete $byfh{fileno $fh}; close $fh }
  delete $kids{$k->{id}};
  reply($k->{id}, @fields);
}
sub settle {
  my $k = shift;
  return if $k->{daemon} || $k->{done} || $k->{out} || $k->{err} || !exists $status{$k->{pid}};
  my $st = delete $status{$k->{pid}};
  my ($code, $sig) = (POSIX::WIFSIGNALED($st) ? ('', 'SIG' . $signame[POSIX::WTERMSIG($st)]) : (POSIX::WEXITSTATUS($st), ''));
  finish($k, 'done', $code, $sig, $k->{obuf}, $k->{ebuf}, '', '');
}
sub reap {
  while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
    my ($k) = grep { $_->{pid} == $pid } values %kids;
    next unless $k && !$k->{daemon};
    $status{$pid} = $?;
    settle($k);
  }
}
open(my $NULL, '+<', '/dev/null') or die "/dev/null: $!";
# Forks a child that runs FILE with the descriptors FDS as 0, 1, 2 (and 3); returns its pid
# and, once it has executed or failed to, the error that kept it from starting ('' if none).
sub launch {
  my ($er, $ew, $fds, $daemon, $cwd, $mntns, $file, $argv0, @args) = @_;
  my $pid = fork;
  return (undef, $! + 0) unless defined $pid;
  if ($pid == 0) {
    $SIG{PIPE} = 'DEFAULT';
    POSIX::setsid() if $daemon;
    my $ok = 1;
    for my $i (0 .. $#$fds) { $ok = defined POSIX::dup2($fds->[$i], $i) or last }
    # A verb of this helper (a code reference): done here, with no program to execute.
    if ($ok && ref $file) { close $ew; POSIX::_exit($file->()) }
    my $step = '';
    $step = own_mount_ns($mntns) if $ok && length $mntns;
    if ($ok && !length $step && (!length $cwd || chdir($cwd))) { exec { $file } $argv0, @args }
    # A step of its mount namespace that failed is told as such, not as the program's errno.
    syswrite($ew, length $step ? "EMOUNTNS $step: $!" : errname($! + 0));
    POSIX::_exit(127);
  }
  close $ew;
  my $why = '';
  while (1) { my $n = sysread($er, my $b, 512); last if defined $n && $n == 0; if (!defined $n) { next if $!{EINTR}; last } $why .= $b }
  close $er;
  return ($pid, $why);
}
# System call numbers of setns, unshare, mount and umount2, by architecture (aarch64's are
# the generic table's); where they are unknown the namespace verbs below answer ENOSYS and the
# caller falls back to nsenter and unshare.
my %sysnos = (x86_64 => [308, 272, 165, 166], aarch64 => [268, 97, 40, 39]);
my ($arch) = $Config{archname} =~ /^([^-]+)/;
my ($SYS_setns, $SYS_unshare, $SYS_mount, $SYS_umount2) = @{$sysnos{$arch} || []};
my %nsflag = (net => 0x40000000, ipc => 0x08000000, uts => 0x04000000);
# Joins the mount namespace pinned at MNT, unless MNT is '-'; false (told on stderr) if it cannot.
sub enter_mount_ns {
  my $mnt = shift;
  return 1 if $mnt eq '-';
  open(my $fh, '<', $mnt) or do { print STDERR "open $mnt: $!\n"; return 0 };
  syscall($SYS_setns, fileno($fh), 0x00020000) == 0 or do { print STDERR "setns $mnt: $!\n"; return 0 };
  return 1;
}
# In a forked child, never executing: in the mount namespace pinned at MNT, for each pod (one
# file per kind of KINDS, net, ipc or uts, in their order) makes those namespaces new and binds
# each onto its file, as 'unshare --net=FILE ...' does, then brings the loopback up as
# 'ip link set lo up' does. Writes 'ok' or 'no' on stdout for each pod, and why one failed on
# stderr (the step and the path); the exit status is 0 when every pod's pins were made.
sub pin_namespaces {
  my ($mnt, $kinds, @files) = @_;
  my @kinds = split /,/, $kinds;
  return 1 unless @kinds && enter_mount_ns($mnt);
  my $flags = 0;
  $flags |= $nsflag{$_} for @kinds;
  my $status = 0;
  while (my @pod = splice(@files, 0, scalar @kinds)) {
    my $ok = pin_one(\@kinds, $flags, @pod);
    syswrite(STDOUT, $ok ? "ok\n" : "no\n");
    $status = 1 unless $ok;
  }
  return $status;
}
sub pin_one {
  my ($kinds, $flags, @pod) = @_;
  my $fail = sub { print STDERR "$_[0]: $!\n"; 0 };
  syscall($SYS_unshare, $flags) == 0 or return $fail->('unshare ' . join(',', @$kinds) . " for $pod[0]");
  my $net;
  for my $i (0 .. $#$kinds) {
    my $src = "/proc/self/ns/$kinds->[$i]";
    my $file = $pod[$i];
    syscall($SYS_mount, $src, $file, 0, 4096, 0) == 0 or return $fail->("mount $src on $file");
    $net = $file if $kinds->[$i] eq 'net';
  }
  return 1 unless defined $net;
  # struct ifreq: the name in 16 bytes, then a union of 24 whose first member is the flags.
  socket(my $s, Socket::AF_INET(), Socket::SOCK_DGRAM(), 0) or return $fail->("socket in $net");
  my $ifr = pack('a16 x24', 'lo');
  ioctl($s, 0x8913, $ifr) or return $fail->("SIOCGIFFLAGS lo in $net");
  $ifr = pack('a16 s x22', 'lo', unpack('x16 s', $ifr) | 1);
  ioctl($s, 0x8914, $ifr) or return $fail->("SIOCSIFFLAGS lo up in $net");
  return 1;
}
# In a forked child, never executing: in the mount namespace pinned at MNT (unless '-'),
# detaches each file's mount (as 'umount -l', going on past one that is not a mount point)
# and removes the file. The namespaces go when their last user does.
sub unpin_namespaces {
  my ($mnt, @files) = @_;
  return 1 unless enter_mount_ns($mnt);
  my $status = 0;
  for my $f (@files) {
    syscall($SYS_umount2, $f, 2) == 0 or $!{EINVAL} or $!{ENOENT} or do { print STDERR "umount $f: $!\n"; $status = 1 };
    unlink($f) or $!{ENOENT} or do { print STDERR "unlink $f: $!\n"; $status = 1 };
  }
  return $status;
}
# Runs a namespace verb ('pin' or 'unpin') in a child of its own, replied to as a command is.
sub nsverb {
  my ($verb, $id, @args) = @_;
  return reply($id, 'error', 'ENOSYS', "no system call numbers for $Config{archname}") unless defined $SYS_setns;
  my $sub = $verb eq 'pin' ? \&pin_namespaces : \&unpin_namespaces;
  start($id, '', sub { $sub->(@args) }, $verb, '', '', '', '', '', '');
}
sub start {
  my ($id, $daemon, $file, $argv0, $cwd, $hasenv, $env, $hasinput, $input, $mntns, @args) = @_;
  my %k = (id => $id, daemon => $daemon, obuf => '', ebuf => '', line => '');
  pipe(my $er, my $ew) or return reply($id, 'error', 'EMFILE', "pipe: $!");
  my ($in_r, $in_w, $out_r, $out_w, $err_r, $err_w, $sync_r, $sync_w);
  pipe($err_r, $err_w);
  if ($daemon) { pipe($sync_r, $sync_w) } else { pipe($out_r, $out_w); pipe($in_r, $in_w) if $hasinput }
  # The child's environment and descriptors are made ready here, before fork(): each page a
  # child writes after fork() costs it a copy (copy-on-write), so it does no more than dup2,
  # chdir and exec. %ENV is this process's again once the child has executed.
  my @fds = (fileno($daemon || !$hasinput ? $NULL : $in_r), fileno($daemon ? $NULL : $out_w), fileno($err_w));
  push @fds, fileno($sync_w) if $daemon;
  my ($pid, $why);
  if ($hasenv) {
    local %ENV = ();
    for (split /\0/, $env) { my ($n, $v) = split /=/, $_, 2; $ENV{$n} = $v if defined $v }
    ($pid, $why) = launch($er, $ew, \@fds, $daemon, $cwd, $mntns, $file, $argv0, @args);
  } else {
    ($pid, $why) = launch($er, $ew, \@fds, $daemon, $cwd, $mntns, $file, $argv0, @args);
  }
  if (!defined $pid) { close $_ for grep { defined } $err_r, $out_r, $in_w, $sync_r, $err_w, $out_w, $in_r, $sync_w; return reply($id, 'error', errname($why), "spawn $file: fork: $!") }
  close $err_w;
  close $out_w if $out_w; close $in_r if $in_r; close $sync_w if $sync_w;
  if (length $why) {
    my ($code, $msg) = split / /, $why, 2;
    close $_ for grep { defined } $err_r, $out_r, $in_w, $sync_r;
    return reply($id, 'error', $code, "spawn $argv0 $code" . (defined $msg ? ": $msg" : ''));
  }
  $k{pid} = $pid;
  my $kr = \%k;
  $kids{$id} = $kr;
  for my $pair (['err', $err_r], ['out', $out_r], ['sync', $sync_r]) {
    next unless $pair->[1];
    nonblock($pair->[1]); $kr->{$pair->[0]} = $pair->[1]; $byfh{fileno $pair->[1]} = [$kr, $pair->[0]]; $sel->add($pair->[1]);
  }
  if ($in_w) {
    nonblock($in_w); $kr->{in} = $in_w; $kr->{ibuf} = $input;
    feed($kr);
  }
}
sub feed {
  my $k = shift;
  while (length $k->{ibuf}) {
    my $n = syswrite($k->{in}, $k->{ibuf});
    if (!defined $n) { return if $!{EAGAIN} || $!{EINTR}; last }
    substr($k->{ibuf}, 0, $n, '');
  }
  close $k->{in}; delete $k->{in};
}
sub readable {
  my $fh = shift;
  my $e = $byfh{fileno $fh} or return;
  my ($k, $which) = @$e;
  my $n = sysread($fh, my $b, 65536);
  return if !defined $n && ($!{EAGAIN} || $!{EINTR});
  if ($n) {
    if ($which eq 'out') { $k->{obuf} .= $b } elsif ($which eq 'err') { $k->{ebuf} .= $b }
    else {
      $k->{line} .= $b;
      my $nl = index($k->{line}, "\n");
      finish($k, 'done', '', '', '', $k->{ebuf}, 'line', substr($k->{line}, 0, $nl)) if $nl >= 0;
    }
    return;
  }
  $sel->remove($fh); delete $byfh{fileno $fh}; close $fh; delete $k->{$which};
  if ($which eq 'sync') {
    # What it wrote to stderr before it closed fd 3 goes with the reply.
    while ($k->{err}) { my $m = sysread($k->{err}, my $b, 65536); last unless $m; $k->{ebuf} .= $b }
    finish($k, 'done', '', '', '', $k->{ebuf}, '', '');
  }
  elsif (!$k->{daemon}) { settle($k) }
}
while (1) {
  my $writing = IO::Select->new(map { $_->{in} } grep { $_->{in} } values %kids);
  my ($r, $w) = IO::Select->select($sel, $writing, undef, 5);
  for my $fh (@{$w || []}) { my ($k) = grep { $_->{in} && $_->{in} == $fh } values %kids; feed($k) if $k }
  for my $fh (@{$r || []}) {
    if ($fh == $wake_r) { sysread($wake_r, my $b, 512) }
    elsif ($fh == \*STDIN || fileno($fh) == 0) {
      my $n = sysread(STDIN, my $b, 65536);
      if (defined $n && $n == 0) { $sel->remove(\*STDIN); $closing = 1 }
      elsif ($n) {
        $inbuf .= $b;
        while ((my $i = index($inbuf, "\n")) >= 0) {
          my @f = map { $uh->($_) } split / /, substr($inbuf, 0, $i);
          substr($inbuf, 0, $i + 1, '');
          my $kind = shift @f;
          if ($kind eq 'kill') { my $k = $kids{$f[0]}; kill 'KILL', $k->{pid} if $k && !$k->{done} }
          elsif ($kind eq 'pin' || $kind eq 'unpin') { nsverb($kind, @f) }
          else { start(@f) }
        }
      }
    } else { readable($fh) }
  }
  reap();
  maybe_exit();
}
`;

/** One protocol line: each field `x` and its bytes in hex. */
function message(fields: (string | Buffer)[]): string {
  return `${fields.map((v) => `x${Buffer.from(v).toString('hex')}`).join(' ')}\n`;
}

/** What a command produced, as the spawner reports it. */
export interface SpawnOutcome {
  /** A daemon's line on fd 3; absent when fd 3 closed without one (or for other commands). */
  line?: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** A command that could not be started (ENOENT, EACCES, ...). */
export class SpawnError extends Error {
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export interface SpawnRequest {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  /**
   * A monitor that outlives its start (see the protocol above): the outcome comes with its
   * first line on fd 3, without waiting for it to exit. `input` is not given to a daemon.
   */
  daemon?: boolean;
  /** The program's argv[0] when `file` is a path it was found at. Default: `file`. */
  argv0?: string;
  /** A mount namespace of the program's own, made before it runs (own-mount-ns.ts). */
  mountNamespace?: OwnMountNamespace;
}

/** A kind of namespace the helper pins. */
export type NamespaceKind = 'net' | 'ipc' | 'uts';

/** What the helper's pin verb did: whether each pod's pins were made, and why not. */
export interface PinOutcome {
  made: boolean[];
  /** The failing steps, with their paths, one a line; empty when all were made. */
  why: string;
}

interface Pending {
  resolve(o: SpawnOutcome): void;
  reject(e: Error): void;
}

export class Spawner {
  private child?: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buffered = '';
  /** Set once the helper answered that it cannot do its namespace verbs here. */
  private noVerbs = false;

  /**
   * Starts one command in the helper process. `outcome` resolves when it has exited and its
   * output is read; `kill` sends it SIGKILL (as an abort of `signal` does).
   */
  run(
    file: string,
    args: readonly string[],
    req: SpawnRequest = {},
    signal?: AbortSignal,
  ): { outcome: Promise<SpawnOutcome>; kill(): void } {
    const child = this.ensure();
    const id = this.nextId++;
    const kill = () => this.kill(id);
    const outcome = new Promise<SpawnOutcome>((resolve, reject) => {
      signal?.addEventListener('abort', kill, { once: true });
      this.track(id, resolve, reject, () => signal?.removeEventListener('abort', kill));
      const env = req.env
        ? Object.entries(req.env)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => `${k}=${v}`)
        : [];
      // exec() ends each string at a NUL: refused before, as Node's spawn refuses it.
      const strings = [file, req.argv0 ?? '', req.cwd ?? '', ...args, ...env];
      if (strings.some((a) => a.includes('\0'))) {
        this.pending
          .get(id)
          ?.reject(
            new SpawnError(
              'ERR_INVALID_ARG_VALUE',
              `Arguments of "${file}" must be strings without null bytes`,
            ),
          );
        return;
      }
      const daemon = !!req.daemon;
      const input = req.input !== undefined && !daemon;
      child.stdin!.write(
        message([
          'start',
          String(id),
          daemon ? '1' : '',
          file,
          req.argv0 ?? file,
          req.cwd ?? '',
          req.env ? '1' : '',
          env.join('\0'),
          input ? '1' : '',
          input ? Buffer.from(req.input!) : '',
          req.mountNamespace ? ownMountNsSpec(req.mountNamespace) : '',
          ...args,
        ]),
      );
    });
    return { outcome, kill };
  }

  /**
   * Pins new namespaces in the helper itself, without a program: for each of `pods` (its files,
   * one per kind of `kinds`, in that order) the namespaces of `kinds` made new and bound onto
   * its files, in the mount namespace pinned at `mountNs` (the caller's own when undefined),
   * the loopback up in a new network namespace. One process does them all. Resolves with
   * whether each pod's pins were made and why not (the failing step and path), or with
   * undefined where the helper cannot (its architecture's system call numbers are unknown):
   * then pin with nsenter and unshare.
   */
  async pin(
    mountNs: string | undefined,
    kinds: readonly NamespaceKind[],
    pods: readonly (readonly string[])[],
  ): Promise<PinOutcome | undefined> {
    const o = await this.verb('pin', [mountNs ?? '-', kinds.join(','), ...pods.flat()]);
    if (!o) return undefined;
    const lines = o.stdout.toString('utf8').split('\n');
    const why = o.stderr.toString('utf8').trim();
    return {
      made: pods.map((_, i) => lines[i] === 'ok'),
      why: why || (o.code === 0 ? '' : o.signal ? `killed by ${o.signal}` : `exit status ${o.code}`),
    };
  }

  /**
   * Detaches the pins at `files` (lazily, as `umount -l`; a file that is no mount is skipped)
   * and removes the files, in the mount namespace pinned at `mountNs` (the caller's own when
   * undefined). Undefined where the helper cannot (see {@link pin}).
   */
  unpin(mountNs: string | undefined, files: readonly string[]): Promise<SpawnOutcome | undefined> {
    return this.verb('unpin', [mountNs ?? '-', ...files]);
  }

  private async verb(name: 'pin' | 'unpin', args: string[]): Promise<SpawnOutcome | undefined> {
    if (this.noVerbs) return undefined;
    const child = this.ensure();
    const id = this.nextId++;
    try {
      return await new Promise<SpawnOutcome>((resolve, reject) => {
        this.track(id, resolve, reject);
        child.stdin!.write(message([name, String(id), ...args]));
      });
    } catch (e) {
      if (!(e instanceof SpawnError && e.code === 'ENOSYS')) throw e;
      this.noVerbs = true;
      return undefined;
    }
  }

  /** Waits for the reply to request `id`; the helper keeps the process alive meanwhile. */
  private track(
    id: number,
    resolve: (o: SpawnOutcome) => void,
    reject: (e: Error) => void,
    done?: () => void,
  ) {
    const settle = () => {
      done?.();
      this.pending.delete(id);
      if (this.pending.size === 0) this.setRef(false);
    };
    this.pending.set(id, {
      resolve: (o) => {
        settle();
        resolve(o);
      },
      reject: (e) => {
        settle();
        reject(e);
      },
    });
    this.setRef(true);
  }

  /** Kills a command it started (SIGKILL); its reply still arrives. */
  private kill(id: number): void {
    this.child?.stdin?.write(message(['kill', String(id)]));
  }

  /** Ends the helper once the commands it runs have finished. */
  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private ensure(): ChildProcess {
    if (this.child) return this.child;
    // The program is our own source, passed whole: no argument of the caller reaches Perl.
    const child = spawn('perl', ['-e', HELPER_SOURCE], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child = child;
    child.stdout!.setEncoding('latin1');
    child.stdout!.on('data', (d: string) => this.onData(d));
    child.stdin!.on('error', () => {}); // reported through 'exit' or 'error' below
    const fail = (why: Error) => {
      if (this.child === child) this.child = undefined;
      for (const p of [...this.pending.values()]) p.reject(why);
    };
    child.on('exit', (code, sig) =>
      fail(new Error(`The helper process that runs commands exited (${sig ?? `status ${code}`})`)),
    );
    child.on('error', (e) => fail(new Error(`The helper process that runs commands failed: ${e.message}`)));
    this.setRef(false);
    return child;
  }

  private onData(d: string): void {
    this.buffered += d;
    for (let i = this.buffered.indexOf('\n'); i >= 0; i = this.buffered.indexOf('\n')) {
      const f = this.buffered
        .slice(0, i)
        .split(' ')
        .map((x) => Buffer.from(x.slice(1), 'hex'));
      this.buffered = this.buffered.slice(i + 1);
      const p = this.pending.get(Number(f[0]?.toString()));
      if (!p) continue;
      const text = (n: number) => f[n]?.toString('utf8') ?? '';
      if (text(1) === 'error') p.reject(new SpawnError(text(2) || undefined, text(3)));
      else
        p.resolve({
          ...(text(6) === 'line' ? { line: text(7) } : {}),
          code: text(2) === '' ? null : Number(text(2)),
          signal: text(3) === '' ? null : (text(3) as NodeJS.Signals),
          stdout: f[4] ?? Buffer.alloc(0),
          stderr: f[5] ?? Buffer.alloc(0),
        });
    }
  }

  /** The helper keeps the process alive only while a command of ours runs. */
  private setRef(on: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const h of [c, c.stdout, c.stdin] as { ref?(): void; unref?(): void }[])
      on ? h?.ref?.() : h?.unref?.();
  }
}
