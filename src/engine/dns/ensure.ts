/**
 * Starts the embedded DNS server (server.ts) when a container joins a user network and no
 * live one serves this engine root (its pid file names a live process).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive } from '../container/exit-watch.js';

export const dnsPidFile = (runroot: string) => join(runroot, 'dns.pid');

function running(runroot: string): boolean {
  try {
    const pid = Number(readFileSync(dnsPidFile(runroot), 'utf8').trim());
    return Number.isInteger(pid) && pidAlive(pid);
  } catch {
    return false;
  }
}

/**
 * Ensures the DNS server for this root runs (it starts detached and outlives this command).
 * `self` is the argv that runs Berth (the front end's, see EngineContext.self). Two
 * commands racing here may both start one; the second finds the first's pid file and exits.
 */
export function ensureDnsServer(root: string, runroot: string, self: readonly string[]): void {
  if (running(runroot)) return;
  const [file, ...args] = self;
  const child = spawn(file!, [...args, '--root', root, '--runroot', runroot, 'internal', 'dns-server'], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
}
