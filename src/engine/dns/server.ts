/**
 * The embedded DNS server (like Podman's aardvark-dns, Docker's 127.0.0.11): one small
 * detached process per engine root, listening on port 53 (UDP and TCP, through the shared
 * transport in transport.ts) at the gateway address of each user network that has containers. A query arriving on a network's address is answered from
 * that network's containers (names, short IDs, aliases: records.ts); anything else is
 * forwarded to the host's resolvers, which this process can reach because it runs in the
 * host's network namespace (a loopback stub resolver works too). It follows the networks by
 * looking at the database every second (at once when the wake file is touched), tells which
 * networks it answers on with one empty file per network in its ready folder, and exits when
 * no user network has endpoints.
 */
import {
  closeSync,
  type FSWatcher,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  watch,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { logger } from '../../core/log.js';
import { pidAlive } from '../container/exit-watch.js';
import { NetworkStore } from '../network/network-store.js';
import { openEngineDb } from '../state/db.js';
import { activeNetworks, networkResolver } from './records.js';
import { type DnsListener, listenDns } from './transport.js';

const log = logger('dns');

/** Upstream resolvers: BERTH_DNS_UPSTREAM (host:port, comma-separated), else the host's. */
export function upstreams(resolvConf = '/etc/resolv.conf'): { host: string; port: number }[] {
  const env = process.env.BERTH_DNS_UPSTREAM;
  if (env)
    return env.split(',').map((s) => {
      const [host, port] = s.trim().split(':');
      return { host: host!, port: Number(port ?? 53) };
    });
  let text = '';
  try {
    text = readFileSync(resolvConf, 'utf8');
  } catch {
    /* none */
  }
  return [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => ({ host: m[1]!, port: 53 }));
}

/** Takes the pid file unless a live server holds it (a dead one's file is replaced). */
function claimPidFile(path: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return true;
    } catch {
      let pid = 0;
      try {
        pid = Number(readFileSync(path, 'utf8').trim());
      } catch {
        /* vanished: try again */
      }
      if (pid && pid !== process.pid && pidAlive(pid)) return false;
      rmSync(path, { force: true });
    }
  }
  return false;
}

export interface DnsServerOptions {
  root: string;
  pidFile: string;
  /**
   * The folder where an empty file named after each network says the server answers on its
   * gateway (removed when it stops answering; emptied at start, removed at exit).
   */
  readyDir?: string;
  /** A file whose touch makes the server look at the networks at once (made if missing). */
  wakeFile?: string;
  /** Stop after this long with no user network endpoints. Default 10 s. */
  idleMs?: number;
  /** Stops the server. */
  signal?: AbortSignal;
}

/**
 * Serves until idle (or `signal`); resolves once every socket is closed and the pid file is
 * gone, so the process hosting it can simply return.
 */
export async function runDnsServer(opts: DnsServerOptions): Promise<void> {
  const db = openEngineDb(opts.root);
  const networks = new NetworkStore(db);
  db.pragma('query_only = ON');
  const sockets = new Map<string, Promise<DnsListener | undefined>>(); // network name -> listener on its gateway
  let idleSince = Date.now();

  const sync = () => {
    let nets: { name: string; gateway: string }[] = [];
    try {
      nets = activeNetworks(networks);
    } catch (e) {
      log.debug('reading networks failed', { err: e as Error });
    }
    if (nets.length) idleSince = Date.now();
    const want = new Map(nets.map((n) => [n.name, n.gateway.split('/')[0]!]));
    for (const [name, l] of sockets)
      if (!want.has(name)) {
        if (opts.readyDir) rmSync(join(opts.readyDir, name), { force: true });
        void l.then((x) => x?.close());
        sockets.delete(name);
      }
    for (const [name, ip] of want) {
      if (sockets.has(name)) continue;
      const l = listenDns({ address: ip, resolver: networkResolver(networks, name), upstreams }).then(
        (x) => {
          // Still wanted (not closed meanwhile): containers starting on it may wait for this.
          if (opts.readyDir && sockets.get(name) === l) writeFileSync(join(opts.readyDir, name), '');
          return x;
        },
        (e: unknown) => {
          // The bridge (and its address) may not exist yet: try again on the next look.
          log.debug('dns listen failed', { network: name, ip, err: e as Error });
          if (sockets.get(name) === l) sockets.delete(name);
          return undefined;
        },
      );
      sockets.set(name, l);
    }
    if (Date.now() - idleSince > (opts.idleMs ?? 10_000)) stop();
  };
  let stopped: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  let timer: NodeJS.Timeout | undefined;
  let waker: FSWatcher | undefined;
  const stop = () => {
    clearInterval(timer);
    waker?.close();
    if (opts.readyDir) rmSync(opts.readyDir, { recursive: true, force: true });
    opts.signal?.removeEventListener('abort', stop);
    const closing = [...sockets.values()].map((l) => l.then((x) => x?.close()));
    sockets.clear();
    rmSync(opts.pidFile, { force: true });
    // The database closes after the listeners: a query in flight still reads it.
    void Promise.all(closing).then(() => {
      db.close();
      stopped();
    });
  };
  if (opts.signal?.aborted || !claimPidFile(opts.pidFile)) {
    db.close();
    return; // another server serves this root
  }
  opts.signal?.addEventListener('abort', stop);
  // A server killed before left its files: only this one's listeners are ready.
  if (opts.readyDir) {
    rmSync(opts.readyDir, { recursive: true, force: true });
    mkdirSync(opts.readyDir, { recursive: true });
  }
  if (opts.wakeFile) {
    closeSync(openSync(opts.wakeFile, 'a'));
    waker = watch(opts.wakeFile, { persistent: false }, () => sync());
  }
  sync();
  timer = setInterval(sync, 1000);
  await done;
}
