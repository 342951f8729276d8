/**
 * CPU time used by this process and every process it starts (a server, its command helper,
 * CNI plugins, runc, conmon), and by the containers a runtime puts under a cgroup parent: read
 * from cgroup v1's cpuacct controller, into a cgroup of its own that this process moves
 * itself into. Where there is no cpuacct hierarchy (cgroup v2 only) nothing is measured.
 * The machine's other work is not counted, so the figure holds on a shared machine too.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = '/sys/fs/cgroup/cpuacct';

export class CpuAccount {
  private readonly own: string;

  private constructor() {
    this.own = join(ROOT, `berth-bench-${process.pid}`);
    mkdirSync(this.own, { recursive: true });
    writeFileSync(join(this.own, 'cgroup.procs'), String(process.pid));
  }

  /** Starts accounting, or returns undefined where cpuacct is not available. */
  static start(): CpuAccount | undefined {
    return existsSync(join(ROOT, 'cpuacct.usage')) ? new CpuAccount() : undefined;
  }

  /** Milliseconds of CPU used so far by this process tree and under each cgroup `parents`. */
  usedMs(parents: readonly string[] = []): number {
    let ns = 0;
    for (const dir of [this.own, ...parents.map((p) => join(ROOT, p))]) {
      const file = join(dir, 'cpuacct.usage');
      if (existsSync(file)) ns += Number(readFileSync(file, 'utf8'));
    }
    return ns / 1e6;
  }

  /** Moves this process back to the root cgroup and removes its own (its children have ended). */
  stop(): void {
    writeFileSync(join(ROOT, 'cgroup.procs'), String(process.pid));
    try {
      rmdirSync(this.own);
    } catch (e) {
      process.stderr.write(`could not remove ${this.own}: ${(e as Error).message}\n`);
    }
  }
}

/**
 * Milliseconds of CPU a process has used, all its threads, and that of the children it has
 * waited for (theirs summed by the kernel, so short commands count in full): /proc/PID/stat.
 */
export function processCpuMs(pid: number): { own: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at the third: utime, stime,
  // cutime and cstime are the 14th to 17th, in clock ticks (USER_HZ, 100 on Linux).
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return { own: (f[11]! + f[12]!) * 10, children: (f[13]! + f[14]!) * 10 };
}

/** The pids of the processes whose parent is `ppid`. */
export function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(p));
    } catch {
      // ended while the list was read
    }
  }
  return out;
}
