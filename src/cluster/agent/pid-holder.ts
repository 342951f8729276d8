/**
 * The process that holds a pod's shared PID namespace (shareProcessNamespace): a PID
 * namespace cannot outlive its first process, so, unlike the network, IPC and UTS
 * namespaces, it cannot be pinned by a file. catatonit in pause mode is that process (PID 1
 * of the namespace, reaping what its containers leave), as the pause container is in
 * Kubernetes. It runs in a session of its own, so the agent's end does not end it.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { BerthError } from '../../core/errors.js';

/** The shell step that reports its own host pid (read through the host's /proc) and becomes catatonit. */
const HOLDER =
  'read -r pid rest < /proc/self/stat; echo "$pid"; exec catatonit -P </dev/null >/dev/null 2>&1';

/** Starts a holder of a new PID namespace; returns its pid (join `/proc/PID/ns/pid`). */
export async function startPidHolder(signal?: AbortSignal): Promise<number> {
  const child = spawn('unshare', ['--pid', '--fork', '--kill-child', 'sh', '-c', HOLDER], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(signal ? { signal } : {}),
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  // The first line is the pid (unshare itself keeps the pipes open while it waits).
  const line = new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve();
    });
    child.stdout.on('close', () => resolve());
    child.on('error', (e) => {
      err += e.message;
      resolve();
    });
  });
  await line;
  child.stdout.destroy();
  child.stderr.destroy();
  child.unref();
  const pid = Number(out.trim());
  if (!Number.isInteger(pid) || pid <= 0 || !existsSync(`/proc/${pid}/ns/pid`))
    throw new BerthError(
      'Unavailable',
      `The holder of the pod's PID namespace did not start: ${err.trim() || out.trim()}`,
    );
  return pid;
}

/** Ends a holder (and with it every process left in its namespace); nothing to do when it is gone. */
export function stopPidHolder(pid: number): void {
  if (!pid) return;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  // Ours is the child of an `unshare` (still the shell just before it becomes catatonit); a
  // pid reused by another process is not ours to kill.
  const ppid = /^PPid:\s*(\d+)/m.exec(status)?.[1];
  let parent = '';
  try {
    parent = readFileSync(`/proc/${ppid}/comm`, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (parent === 'unshare') process.kill(pid, 'SIGKILL');
}
