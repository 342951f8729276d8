/**
 * The DNS transport shared by the engine's embedded server and the cluster DNS: UDP and TCP
 * listeners on one address, message decoding and encoding, truncation of UDP answers that do
 * not fit (the client then asks again over TCP), and forwarding of the names a resolver does
 * not own to upstream resolvers. What a name means is the resolver's business (a
 * {@link DnsResolver}); this file knows only the wire.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { logger } from '../../core/log.js';

const log = logger('dns');

/** Response codes used here (RFC 1035 section 4.1.1). */
export const Rcode = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** A resolver's answer to one question. */
export interface DnsReply {
  rcode: number;
  answers: dnsPacket.Answer[];
  /** The SOA of a negative answer (NXDOMAIN, or no data for that type). */
  authorities?: dnsPacket.Answer[];
  /** Addresses of SRV targets. */
  additionals?: dnsPacket.Answer[];
}

/**
 * What a DNS server answers: the reply for a question, or `undefined` when the name is not
 * the resolver's, which sends the query on to the upstream resolvers as it came.
 */
export interface DnsResolver {
  resolve(question: dnsPacket.Question): DnsReply | undefined;
}

export interface Upstream {
  host: string;
  port: number;
}

export interface DnsListenerOptions {
  address: string;
  /** Default 53. */
  port?: number;
  resolver: DnsResolver;
  /** Where forwarded queries go, asked at each query (resolv.conf may change). */
  upstreams: () => Upstream[];
  /** Also serve TCP (default true). */
  tcp?: boolean;
  /** How long one upstream has to answer before the next is tried. Default 2 s. */
  forwardTimeoutMs?: number;
  /**
   * Keeps encoded answers until this number changes (the cluster DNS bumps it on every
   * Service or EndpointSlice change), so a repeated question costs a map lookup instead of
   * a decode, a resolve and an encode. Without it every query is resolved.
   */
  generation?: () => number;
}

export interface DnsListener {
  /** The bound UDP port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

// Flags (RFC 1035): QR comes from `type: 'response'`; these are the others a reply sets.
const AA = dnsPacket.AUTHORITATIVE_ANSWER;
const TC = dnsPacket.TRUNCATED_RESPONSE;
const RD = dnsPacket.RECURSION_DESIRED;
const RA = dnsPacket.RECURSION_AVAILABLE;
/** The largest UDP answer without EDNS (RFC 1035 section 2.3.4). */
const PLAIN_UDP_MAX = 512;

/** The UDP payload size a query offers through EDNS (its OPT record), else 512. */
function udpLimit(q: dnsPacket.Packet): number {
  const opt = q.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  return Math.max(PLAIN_UDP_MAX, Math.min(opt?.udpPayloadSize ?? PLAIN_UDP_MAX, 65_535));
}

/** A reply with only the header and question: errors, and truncated UDP answers. */
function bare(q: dnsPacket.Packet, flags: number): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: q.id ?? 0,
    flags: flags | ((q.flags ?? 0) & RD) | RA,
    questions: q.questions ?? [],
  });
}

/**
 * The encoded reply to `msg`, `'forward'` when the resolver leaves it to the upstreams, or
 * undefined for something that is not a DNS query (dropped, as servers do). `maxBytes` is the
 * transport's limit: past it the reply goes out empty with TC set.
 */
export function answerMessage(
  msg: Buffer,
  resolver: DnsResolver,
  maxBytes: number | 'udp',
): Buffer | 'forward' | undefined {
  let q: dnsPacket.Packet;
  try {
    q = dnsPacket.decode(msg);
  } catch {
    return undefined; // not DNS: nothing to answer
  }
  if (q.type === 'response') return undefined;
  const question = q.questions?.[0];
  // Only standard queries with one question (opcode 0), as every resolver sends.
  if (!question || (q.questions?.length ?? 0) > 1 || ((q.flags ?? 0) >> 11) & 0xf)
    return bare(q, Rcode.NOTIMP);
  const r = resolver.resolve(question);
  if (!r) return 'forward';
  const out = dnsPacket.encode({
    type: 'response',
    id: q.id ?? 0,
    flags: AA | ((q.flags ?? 0) & RD) | RA | r.rcode,
    questions: [question],
    answers: r.answers,
    authorities: r.authorities ?? [],
    additionals: r.additionals ?? [],
  });
  const limit = maxBytes === 'udp' ? udpLimit(q) : maxBytes;
  return out.length > limit ? bare(q, AA | TC | r.rcode) : out;
}

/** A SERVFAIL for `msg` (no upstream answered), or undefined if it does not decode. */
function servfail(msg: Buffer): Buffer | undefined {
  try {
    return bare(dnsPacket.decode(msg), Rcode.SERVFAIL);
  } catch {
    return undefined;
  }
}

/** Sends `msg` to each upstream in turn over UDP until one answers. */
function forwardUdp(msg: Buffer, ups: Upstream[], timeoutMs: number, reply: (b: Buffer) => void): void {
  const sock = dgram.createSocket('udp4');
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  const finish = (b: Buffer | undefined) => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    sock.close();
    if (b) reply(b);
  };
  const next = () => {
    const u = ups[i++];
    if (!u) return finish(servfail(msg));
    sock.send(msg, u.port, u.host, (err) => {
      if (err) next();
    });
    timer = setTimeout(next, timeoutMs);
  };
  sock.on('message', (b) => finish(b));
  sock.on('error', (e) => {
    log.debug('forwarding failed', { err: e });
    finish(servfail(msg));
  });
  next();
}

/** Sends `msg` to each upstream in turn over TCP (for TCP clients, whose answers may be large). */
function forwardTcp(msg: Buffer, ups: Upstream[], timeoutMs: number, reply: (b: Buffer) => void): void {
  const attempt = (i: number) => {
    const u = ups[i];
    if (!u) {
      const f = servfail(msg);
      if (f) reply(f);
      return;
    }
    const conn = net.connect({ host: u.host, port: u.port });
    const frames = tcpFrames((b) => {
      conn.destroy();
      reply(b);
      done = true;
    });
    let done = false;
    conn.setTimeout(timeoutMs, () => conn.destroy(new Error('timed out')));
    conn.on('connect', () => conn.write(frame(msg)));
    conn.on('data', frames);
    conn.on('error', (e) => log.debug('forwarding over TCP failed', { upstream: u.host, err: e }));
    conn.on('close', () => {
      if (!done) attempt(i + 1);
    });
  };
  attempt(0);
}

/** A DNS message with its TCP length prefix (RFC 1035 section 4.2.2). */
const frame = (b: Buffer) => {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
};

/** A data handler that calls `fn` with each length-prefixed message of a TCP stream. */
function tcpFrames(fn: (msg: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) break;
      fn(buf.subarray(2, 2 + len));
      buf = buf.subarray(2 + len);
    }
  };
}

/** How many answers the cache holds before it starts over. */
const CACHE_ENTRIES = 10_000;

/**
 * Answers by query bytes after the id (flags, question, EDNS options: everything the answer
 * depends on besides the data), valid for one generation. An entry is the encoded answer less
 * its id: a hit goes out as the query's own id followed by that stored tail, so answering
 * again copies and allocates no answer bytes.
 */
function answerCache(generation: (() => number) | undefined) {
  const entries = new Map<string, Buffer>();
  let gen = generation?.();
  const keyOf = (msg: Buffer, tcp: boolean) => `${tcp ? 't' : 'u'}${msg.toString('latin1', 2)}`;
  return {
    /** The stored answer's bytes after the id, or undefined. */
    get(msg: Buffer, tcp: boolean): Buffer | undefined {
      if (!generation || msg.length < 12) return undefined;
      const now = generation();
      if (now !== gen) {
        entries.clear();
        gen = now;
        return undefined;
      }
      return entries.get(keyOf(msg, tcp));
    },
    set(msg: Buffer, tcp: boolean, answer: Buffer): void {
      if (!generation || msg.length < 12) return;
      if (entries.size >= CACHE_ENTRIES) entries.clear();
      entries.set(keyOf(msg, tcp), answer.subarray(2));
    },
  };
}

/**
 * IP literals only: the UDP socket's replies go to the address a query came from, so the
 * default lookup (dns.lookup, answering on the next tick) is work for nothing on every answer.
 */
const literalLookup = (
  address: string,
  _family: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
) => callback(null, address, address.includes(':') ? 6 : 4);

/**
 * Serves DNS on `address` over UDP (and TCP): resolver answers go back at once, other names
 * are forwarded. Upstreams on the listener's own address and port are skipped, so a node
 * whose resolv.conf names this server never sends a query round in a loop.
 */
export async function listenDns(opts: DnsListenerOptions): Promise<DnsListener> {
  const timeout = opts.forwardTimeoutMs ?? 2000;
  const udp = dgram.createSocket({ type: 'udp4', reuseAddr: false, lookup: literalLookup });
  let port = opts.port ?? 53;
  const upstreams = () => opts.upstreams().filter((u) => !(u.host === opts.address && u.port === port));
  const cache = answerCache(opts.generation);
  /** `reply` sends one message given in parts (the query's id and a cached answer's tail). */
  const handle = (
    msg: Buffer,
    maxBytes: number | 'udp',
    reply: (b: Buffer | Buffer[]) => void,
    tcp: boolean,
  ) => {
    const tail = cache.get(msg, tcp);
    if (tail) return reply([msg.subarray(0, 2), tail]);
    const out = answerMessage(msg, opts.resolver, maxBytes);
    if (out === undefined) return;
    if (out !== 'forward') {
      cache.set(msg, tcp, out);
      return reply(out);
    }
    const ups = upstreams();
    if (!ups.length) {
      const f = servfail(msg);
      if (f) reply(f);
      return;
    }
    (tcp ? forwardTcp : forwardUdp)(msg, ups, timeout, reply);
  };
  udp.on('message', (msg, r) => handle(msg, 'udp', (b) => udp.send(b, r.port, r.address), false));
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, opts.address, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  port = udp.address().port;
  udp.on('error', (e) => log.warn('DNS socket failed', { address: opts.address, err: e }));
  let tcp: net.Server | undefined;
  const conns = new Set<net.Socket>();
  if (opts.tcp !== false) {
    tcp = net.createServer((c) => {
      conns.add(c);
      c.on('close', () => conns.delete(c));
      c.on('error', (e) => log.debug('DNS TCP client failed', { err: e }));
      // Idle clients are let go, as servers do (RFC 7766 suggests seconds).
      c.setTimeout(10_000, () => c.destroy());
      c.on(
        'data',
        tcpFrames((msg) =>
          handle(
            msg,
            65_535,
            (b) => c.writable && c.write(frame(Array.isArray(b) ? Buffer.concat(b) : b)),
            true,
          ),
        ),
      );
    });
    try {
      await new Promise<void>((resolve, reject) => {
        tcp!.once('error', reject);
        tcp!.listen(port, opts.address, () => {
          tcp!.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      udp.close();
      throw e;
    }
  }
  return {
    port,
    close: async () => {
      await new Promise<void>((r) => udp.close(() => r()));
      if (tcp) {
        const t = tcp;
        const closed = new Promise<void>((r) => t.close(() => r()));
        for (const c of conns) c.destroy();
        await closed;
      }
    },
  };
}
