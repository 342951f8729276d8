import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { type DnsListener, type DnsResolver, listenDns, Rcode } from './transport.js';

// Everything on 127.0.0.1: a listener whose resolver owns `*.own.test`, and a fake upstream.
const query = (name: string, id = 1) =>
  dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name }],
  });

function udpAsk(port: number, msg: Buffer): Promise<dnsPacket.Packet> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.on('message', (b) => {
      s.close();
      resolve(dnsPacket.decode(b));
    });
    s.on('error', reject);
    s.send(msg, port, '127.0.0.1');
  });
}

function tcpAsk(port: number, msg: Buffer): Promise<dnsPacket.Packet> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        c.destroy();
        resolve(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      }
    });
    c.on('error', reject);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length);
    c.write(Buffer.concat([len, msg]));
  });
}

const firstData = (p: dnsPacket.Packet) => (p.answers?.[0] as { data?: string } | undefined)?.data;

describe('DNS transport', () => {
  let listener: DnsListener;
  let upstream: dgram.Socket;
  let upstreamPort = 0;
  let address = '10.0.0.1';
  let generation = 0;
  const resolver: DnsResolver = {
    resolve: (q) =>
      q.name.endsWith('.own.test')
        ? { rcode: Rcode.NOERROR, answers: [{ type: 'A', name: q.name, ttl: 5, data: address }] }
        : undefined,
  };
  before(async () => {
    upstream = dgram.createSocket('udp4');
    upstream.on('message', (m, r) => {
      const q = dnsPacket.decode(m);
      upstream.send(
        dnsPacket.encode({
          type: 'response',
          id: q.id,
          questions: q.questions,
          answers: [{ type: 'A', name: q.questions![0]!.name, ttl: 60, data: '192.0.2.7' }],
        }),
        r.port,
        r.address,
      );
    });
    await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
    upstreamPort = upstream.address().port;
    listener = await listenDns({
      address: '127.0.0.1',
      port: 0,
      resolver,
      // The listener itself first: it must be skipped, not asked in a loop.
      upstreams: () => [
        { host: '127.0.0.1', port: listener.port },
        { host: '127.0.0.1', port: upstreamPort },
      ],
      generation: () => generation,
    });
  });
  after(async () => {
    await listener.close();
    upstream.close();
  });

  test('answers its names over UDP and TCP with the query id, authoritative', async () => {
    for (const ask of [udpAsk, tcpAsk]) {
      const r = await ask(listener.port, query('a.own.test', 42));
      assert.equal(r.id, 42);
      assert.equal(r.flags! & dnsPacket.AUTHORITATIVE_ANSWER, dnsPacket.AUTHORITATIVE_ANSWER);
      assert.deepEqual(
        r.answers?.map((a) => (a as { data: string }).data),
        ['10.0.0.1'],
      );
    }
  });

  test('forwards other names to the upstream, skipping itself', async () => {
    const r = await udpAsk(listener.port, query('example.org', 7));
    assert.equal(r.id, 7);
    assert.deepEqual(
      r.answers?.map((a) => (a as { data: string }).data),
      ['192.0.2.7'],
    );
  });

  test('cached answers last until the generation changes, and carry each query its own id', async () => {
    address = '10.0.0.2';
    const cached = await udpAsk(listener.port, query('a.own.test', 9));
    assert.equal(cached.id, 9);
    assert.equal(firstData(cached), '10.0.0.1');
    generation++;
    const fresh = await udpAsk(listener.port, query('a.own.test', 10));
    assert.equal(firstData(fresh), '10.0.0.2');
    // Over TCP too (its own entries): the second answer is the cached one, with its own id.
    for (const id of [11, 12]) {
      const r = await tcpAsk(listener.port, query('a.own.test', id));
      assert.deepEqual([r.id, firstData(r)], [id, '10.0.0.2']);
    }
  });
});
