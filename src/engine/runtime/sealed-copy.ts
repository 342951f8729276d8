/**
 * One sealed in-memory copy of the OCI runtime's binary, held open by a long-lived process
 * (the server with its agent, `berth agent`, the Docker API service), for conmon to run the
 * runtime from.
 *
 * Why: runc 1.1 protects the host's binary from containers (CVE-2019-5736) in every `runc
 * init`: unless /proc/self/exe is already a memfd with exactly the seals SEAL, SHRINK, GROW and
 * WRITE (its `is_self_cloned`, libcontainer/nsenter/cloned_binary.c), it makes a read-only
 * bind mount of itself in the host's mount namespace (or a sealed memfd copy of its 8.7 MB)
 * and executes itself again from that: a mount, a remount, an unmount and a second start of a
 * Go program for every container. A runc started from such a memfd skips all of it, and the
 * guard's purpose holds: nothing can write a sealed memfd, so a container that reopens
 * `/proc/PID/exe` of its init cannot reach the host's runc. runc 1.2 no longer copies; a
 * memfd does no harm there.
 *
 * Node has no memfd_create(2), so Perl (Essential on Debian, its `syscall`) makes the copy,
 * seals it and checks the seals, and this process reopens it through `/proc/PID/fd/N` before
 * Perl exits. Where that fails (no Perl, a kernel refusing memfds) the runtime's own path is
 * used, as before. Perl is started from this process directly, once: its fd must be opened
 * while it waits, which the command helper's protocol (exit, then reply) does not allow.
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { commandsRunThroughHelper, run } from '../../core/exec.js';
import { logger } from '../../core/log.js';
import type { OciRuntime } from './oci-runtime.js';

const log = logger('runtime');

/**
 * Creates the memfd, copies ARGV[0] into it, seals it and checks the seals, prints its fd
 * number and waits for stdin to close (the parent has opened it by then). memfd_create's
 * number comes from syscall.ph when Perl's headers are installed, else from the table.
 */
const PERL_SOURCE = String.raw`
use strict;
use Config;
my $nr = eval { require 'syscall.ph'; &SYS_memfd_create() };
$nr //= { x86_64 => 319, aarch64 => 279, s390x => 350, ppc64le => 360, riscv64 => 279 }->{(split /-/, $Config{archname})[0]};
defined $nr or die "no memfd_create number for $Config{archname}\n";
my $name = "berth-sealed-runtime"; # syscall() wants a writable string
my $fd = syscall($nr, $name, 3);
$fd >= 0 or die "memfd_create: $!\n";
open(my $out, '>&=', $fd) or die "fdopen: $!\n";
binmode $out;
open(my $in, '<:raw', $ARGV[0]) or die "$ARGV[0]: $!\n";
my $buf;
while (my $n = sysread($in, $buf, 1 << 20)) {
  my $off = 0;
  while ($off < $n) {
    my $w = syswrite($out, $buf, $n - $off, $off);
    defined $w or die "write: $!\n";
    $off += $w;
  }
}
# F_ADD_SEALS, F_GET_SEALS; SEAL | SHRINK | GROW | WRITE, the exact set runc accepts.
fcntl($out, 1033, 15) or die "F_ADD_SEALS: $!\n";
my $seals = fcntl($out, 1034, 0);
defined $seals && $seals == 15 or die "seals are $seals, not 15\n";
$| = 1;
print "$fd\n";
my $wait = <STDIN>;
`;

/**
 * The path to start the runtime from for a command that runs its `init` (conmon's `create`,
 * `exec`): in a long-lived process, the sealed copy of runc (or crun, which carries runc's
 * guard too) held by this process; otherwise, and for other runtimes, its own file. A one-shot CLI command would pay for the copy once per
 * container, as runc does.
 */
export function runtimeProgram(rt: OciRuntime): Promise<string> {
  return (rt.name === 'runc' || rt.name === 'crun') && commandsRunThroughHelper()
    ? sealedRuntimePath(rt.path)
    : Promise.resolve(rt.path);
}

/** A copy made, and the file it was made from (to notice an upgrade of the runtime). */
interface Held {
  path: string;
  source: string;
}

/**
 * The copies this process holds, by the runtime binary's path. Process-wide on purpose: the
 * fd belongs to this process and its path names this process. A later call whose source
 * changed on disk (an upgrade) makes a new copy; the old fd stays open, as a conmon may be
 * about to run it.
 */
const made = new Map<string, Promise<Held | undefined>>();

/**
 * The path to run `binary` from: `/proc/PID/fd/N` of a sealed copy held by this process,
 * or `binary` itself when no copy can be made. For long-lived processes: the copy costs a
 * Perl start and 8.7 MB once.
 */
export async function sealedRuntimePath(binary: string): Promise<string> {
  const source = sourceKey(binary);
  // A binary that cannot be read is run as it is, and fails there with the runtime's error.
  if (source === undefined) return binary;
  let held = made.get(binary);
  const current = held && (await held);
  if (!held || (current && current.source !== source)) {
    held = sealedCopy(binary, source);
    made.set(binary, held);
  }
  return (await held)?.path ?? binary;
}

/** What identifies the binary's content on disk; undefined when it cannot be read. */
function sourceKey(binary: string): string | undefined {
  try {
    const s = statSync(binary);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch (e) {
    log.debug('cannot stat the runtime binary', { binary, err: e as Error });
    return undefined;
  }
}

/** True where the kernel lets a plain memfd be executed (vm.memfd_noexec 0, or no such knob). */
function memfdExecAllowed(): boolean {
  try {
    return readFileSync('/proc/sys/vm/memfd_noexec', 'utf8').trim() === '0';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Makes one copy (see the module's comment) and checks that it runs; undefined, logged, when not. */
async function sealedCopy(binary: string, source: string): Promise<Held | undefined> {
  const giveUp = (why: string) => {
    log.info('the runtime runs from its own file: no sealed copy of it could be made', { binary, why });
    return undefined;
  };
  if (!memfdExecAllowed()) return giveUp('vm.memfd_noexec forbids running a memfd');
  let path: string;
  try {
    path = await copyThroughPerl(binary);
  } catch (e) {
    return giveUp((e as Error).message);
  }
  const r = await run(path, ['--version'], { check: false, timeoutMs: 10_000 }).catch((e: Error) => e);
  if (r instanceof Error) return giveUp(r.message);
  if (r.code !== 0) return giveUp(`the copy's --version exited with ${r.code}: ${r.stderr.trim()}`);
  return { path, source };
}

/** Has Perl make the sealed memfd and opens it here; resolves with its /proc/PID/fd path. */
function copyThroughPerl(binary: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('perl', ['-e', PERL_SOURCE, binary], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let done = false;
    const finish = (e: Error | undefined, path?: string) => {
      if (done) return;
      done = true;
      child.stdin.end();
      if (e) reject(e);
      else resolve(path!);
    };
    child.on('error', (e) => finish(e));
    child.stdin.on('error', () => {}); // Perl may have exited already; 'close' says why
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (done || !out.includes('\n') || child.pid === undefined) return;
      try {
        const fd = openSync(`/proc/${child.pid}/fd/${Number.parseInt(out, 10)}`, 'r');
        if (fstatSync(fd).size !== statSync(binary).size) {
          closeSync(fd);
          throw new Error('the copy and its source differ in size');
        }
        finish(undefined, `/proc/${process.pid}/fd/${fd}`);
      } catch (e) {
        finish(e as Error);
      }
    });
    child.on('close', (code, signal) =>
      finish(new Error(err.trim() || `perl exited (${signal ?? `status ${code}`})`)),
    );
  });
}
