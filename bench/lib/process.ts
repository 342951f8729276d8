/** Shared pieces of the benchmarks that start servers: a free port, and waiting for a line. */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, watch } from 'node:fs';
import { createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 now. */
export const freePort = () =>
  new Promise<number>((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => r(p));
    });
  });

/** Resolves when the child prints something matching `pattern` (stdout or stderr), within `timeoutMs` (a minute). */
export function waitFor(child: ChildProcess, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  return new Promise((res, rej) => {
    let out = '';
    const t = setTimeout(() => rej(new Error(`timed out waiting for ${pattern}: ${out}`)), timeoutMs);
    const on = (d: Buffer) => {
      out += d.toString();
      if (pattern.test(out)) {
        clearTimeout(t);
        res();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.once('exit', (c) => rej(new Error(`exited with ${c} before ${pattern}: ${out}`)));
  });
}

/**
 * Starts `file args` with its stdout and stderr appended to the file `logPath` rather than to
 * a pipe: a benchmark that blocks in spawnSync reads no pipe meanwhile, and a chatty server
 * (dockerd and its containerd log every container) then fills it and stalls on its next line.
 * Resolves with the child once the log matches `pattern`.
 */
export async function spawnLogged(
  file: string,
  args: readonly string[],
  logPath: string,
  pattern: RegExp,
  timeoutMs = 60_000,
): Promise<ChildProcess> {
  const fd = openSync(logPath, 'a');
  const child = spawn(file, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  await new Promise<void>((res, rej) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      watcher.close();
      child.off('exit', onExit);
      if (err) rej(err);
      else res();
    };
    const check = () => {
      if (pattern.test(readFileSync(logPath, 'utf8'))) done();
    };
    const onExit = (c: number | null) =>
      done(new Error(`${file} exited with ${c} before ${pattern}: ${readFileSync(logPath, 'utf8')}`));
    const timer = setTimeout(
      () => done(new Error(`timed out waiting for ${pattern}: ${readFileSync(logPath, 'utf8')}`)),
      timeoutMs,
    );
    const watcher = watch(logPath, check);
    child.once('exit', onExit);
    check();
  });
  return child;
}

/** utime + stime of a /proc stat line, in milliseconds (clock ticks of 10 ms). */
function statCpuMs(path: string): number {
  const line = readFileSync(path, 'utf8');
  // The command name may hold spaces: fields are counted after its closing parenthesis.
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * CPU time (user and system, all threads) a process has used so far, in milliseconds. Read
 * before and after a load run, it gives the CPU a server spent per request, which depends far
 * less on other load on the machine than its rate does.
 */
export function cpuMs(pid: number): number {
  return statCpuMs(`/proc/${pid}/stat`);
}

/** The same per thread of the process (thread id -> milliseconds); threads gone meanwhile are skipped. */
export function threadCpuMs(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(Number(tid), statCpuMs(`/proc/${pid}/task/${tid}/stat`));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return out;
}
