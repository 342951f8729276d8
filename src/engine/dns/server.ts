/**
 * The embedded DNS server (like Podman's aardvark-dns, Docker's 127.0.0.11): one small
 * detached process per engine root, listening on UDP port 53 at the gateway address of each
 * user network that has containers. A query arriving on a network's address is answered from
 * that network's containers (names, short IDs, aliases: records.ts); anything else is
 * forwarded to the host's resolvers, which this process can reach because it runs in the
 * host's network namespace (a loopback stub resolver works too). It follows the networks by
 * looking at the database every second, and exits when no user network has endpoints.
 */
import dgram from 'node:dgram';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import { logger } from '../../core/log.js';
import { pidAlive } from '../container/exit-watch.js';
import { NetworkStore } from '../network/network-store.js';
import { openEngineDb } from '../state/db.js';
import { activeNetworks, lookup } from './records.js';

const log = logger('dns');
const TTL = 0; // containers come and go; clients should ask again

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
  const sockets = new Map<string, dgram.Socket>(); // network name -> socket on its gateway
  let idleSince = Date.now();

  const answer = (network: string, msg: Buffer, reply: (b: Buffer) => void) => {
    let q: dnsPacket.Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return; // not DNS: drop it
    }
    const question = q.questions?.[0];
    if (!question) return;
    const ips = lookup(networks, network, question.name);
    if (ips.length === 0) {
      forward(msg, reply);
      return;
    }
    // A container's name: A records; other types exist but have no data (NOERROR, empty).
    reply(
      dnsPacket.encode({
        type: 'response',
        id: q.id,
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHORITATIVE_ANSWER,
        questions: q.questions,
        answers:
          question.type === 'A'
            ? ips.map((ip) => ({ type: 'A' as const, name: question.name, ttl: TTL, data: ip }))
            : [],
      }),
    );
  };

  // Forwarding: the query as it came, to each upstream in turn until one answers.
  const forward = (msg: Buffer, reply: (b: Buffer) => void) => {
    const ups = upstreams();
    const sock = dgram.createSocket('udp4');
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      if (timer) clearTimeout(timer);
      sock.close();
    };
    const next = () => {
      const u = ups[i++];
      if (!u) {
        // No upstream answered: SERVFAIL, so the client stops waiting.
        try {
          const q = dnsPacket.decode(msg);
          reply(
            dnsPacket.encode({ type: 'response', id: q.id, flags: 2, questions: q.questions, answers: [] }),
          );
        } catch {
          /* undecodable */
        }
        done();
        return;
      }
      sock.send(msg, u.port, u.host, (err) => {
        if (err) next();
      });
      timer = setTimeout(next, 2000);
    };
    sock.on('message', (b) => {
      reply(b);
      done();
    });
    sock.on('error', () => done());
    next();
  };

  const sync = () => {
    let nets: { name: string; gateway: string }[] = [];
    try {
      nets = activeNetworks(networks);
    } catch (e) {
      log.debug('reading networks failed', { err: e as Error });
    }
    if (nets.length) idleSince = Date.now();
    const want = new Map(nets.map((n) => [n.name, n.gateway.split('/')[0]!]));
    for (const [name, s] of sockets)
      if (!want.has(name)) {
        s.close();
        sockets.delete(name);
      }
    for (const [name, ip] of want) {
      if (sockets.has(name)) continue;
      const s = dgram.createSocket('udp4');
      sockets.set(name, s);
      s.on('error', (e) => {
        // The bridge (and its address) may not exist yet: try again on the next look.
        log.debug('dns listen failed', { network: name, ip, err: e });
        s.close();
        if (sockets.get(name) === s) sockets.delete(name);
      });
      s.on('message', (msg, rinfo) => answer(name, msg, (b) => s.send(b, rinfo.port, rinfo.address)));
      s.bind(53, ip);
    }
    if (Date.now() - idleSince > (opts.idleMs ?? 10_000)) stop();
  };
  let stopped: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    clearInterval(timer);
    opts.signal?.removeEventListener('abort', stop);
    for (const s of sockets.values()) s.close();
    sockets.clear();
    rmSync(opts.pidFile, { force: true });
    db.close();
    stopped();
  };
  if (opts.signal?.aborted || !claimPidFile(opts.pidFile)) {
    db.close();
    return; // another server serves this root
  }
  opts.signal?.addEventListener('abort', stop);
  sync();
  timer = setInterval(sync, 1000);
  await done;
}
