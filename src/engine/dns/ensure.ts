/**
 * Starts the embedded DNS server (server.ts) when a container joins a user network and no
 * live one serves this engine root (its pid file names a live process), and makes sure it
 * answers on that network before the container starts: Docker answers a container's first
 * lookup, so `network create N && run --network N IMG nslookup db` must not meet a refusal.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, utimesSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { logger } from '../../core/log.js';
import { pidAlive } from '../container/exit-watch.js';

const log = logger('dns');

export const dnsPidFile = (runroot: string) => join(runroot, 'dns.pid');
/** One empty file per network the server answers on (server.ts). */
export const dnsReadyDir = (runroot: string) => join(runroot, 'dns.ready');
/** Touched to make a running server look at the networks at once instead of within a second. */
export const dnsWakeFile = (runroot: string) => join(runroot, 'dns.wake');

/** How long a container start waits for the server's listener at most; it starts anyway after. */
const READY_TIMEOUT_MS = 5000;
const READY_POLL_MS = 20;

function running(runroot: string): boolean {
  try {
    const pid = Number(readFileSync(dnsPidFile(runroot), 'utf8').trim());
    return Number.isInteger(pid) && pidAlive(pid);
  } catch {
    return false;
  }
}

/** Whether something accepts TCP connections on `address` port 53 (the server listens on UDP first, then TCP). */
function listening(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port: 53 });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    // The gateway is this host's own address, which answers at once; never hang on one that is not.
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
  });
}

/**
 * Ensures the DNS server for this root runs (it starts detached and outlives this command)
 * and, given the `network` a container joins, that it answers on its gateway. `self` is the
 * argv that runs Berth (the front end's, see EngineContext.self). A running server that lists
 * the network as ready costs one stat; otherwise (a server just started, or one that has not
 * seen a new network yet, which it is woken to look at) this waits until the gateway's port
 * 53 accepts connections, for up to 5 s. Two commands racing here may both start one; the
 * second finds the first's pid file and exits.
 */
export async function ensureDnsServer(
  root: string,
  runroot: string,
  self: readonly string[],
  network?: { name: string; gateway: string },
): Promise<void> {
  const started = !running(runroot);
  if (started) {
    const [file, ...args] = self;
    const child = spawn(file!, [...args, '--root', root, '--runroot', runroot, 'internal', 'dns-server'], {
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
  } else if (!network || existsSync(join(dnsReadyDir(runroot), network.name))) return;
  if (!network) return;
  const address = network.gateway.split('/')[0]!;
  if (!started) wake(runroot);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await listening(address))) {
    if (Date.now() > deadline) {
      log.warn('the DNS server does not answer on the network yet', { network: network.name, address });
      return;
    }
    await delay(READY_POLL_MS);
  }
}

function wake(runroot: string): void {
  const f = dnsWakeFile(runroot);
  try {
    const now = new Date();
    utimesSync(f, now, now);
  } catch {
    // No wake file yet (the server has not got that far): it looks at the networks as it starts.
  }
}
