import assert from 'node:assert/strict';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { decodeHeaderBlock, encodeHeaderBlock, SpdySession, type SpdyStream } from './spdy.js';
import { spdyDictionary } from './spdy-dictionary.js';

test('the SPDY/3 dictionary is the 1,423 bytes of the spec', () => {
  assert.equal(spdyDictionary.length, 1423);
  assert.equal(spdyDictionary.subarray(0, 11).toString('latin1'), '\0\0\0\x07options');
  assert.ok(spdyDictionary.toString('latin1').endsWith('enq=0.'));
});

test('header blocks round-trip with lower-cased names', () => {
  const h = decodeHeaderBlock(
    encodeHeaderBlock(
      new Map([
        ['streamType', 'data'],
        ['port', '80'],
      ]),
    ),
  );
  assert.deepEqual(
    [...h],
    [
      ['streamtype', 'data'],
      ['port', '80'],
    ],
  );
});

/** Both ends of a loopback TCP connection. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const port = (server.address() as AddressInfo).port;
  const peer = connect(port, '127.0.0.1');
  const ours = await accepted;
  server.close();
  return [ours, peer];
}

/** The peer's side: frames as kubectl's SPDY library writes them, and a reader of the replies. */
function client(conn: Duplex) {
  const deflate = zlib.createDeflate({ dictionary: spdyDictionary });
  const inflate = zlib.createInflate({ dictionary: spdyDictionary });
  const step = (z: zlib.Deflate | zlib.Inflate, b: Buffer) =>
    new Promise<Buffer>((resolve) => {
      z.write(b);
      z.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve((z.read() as Buffer | null) ?? Buffer.alloc(0)));
    });
  let buf = Buffer.alloc(0);
  const frames: Buffer[] = [];
  let wake = () => {};
  conn.on('data', (b: Buffer) => {
    buf = Buffer.concat([buf, b]);
    while (buf.length >= 8 && buf.length >= 8 + (buf.readUInt32BE(4) & 0xffffff)) {
      const n = 8 + (buf.readUInt32BE(4) & 0xffffff);
      frames.push(buf.subarray(0, n));
      buf = buf.subarray(n);
    }
    wake();
  });
  return {
    async synStream(id: number, headers: Record<string, string>, fin = false) {
      const block = await step(deflate, encodeHeaderBlock(new Map(Object.entries(headers))));
      const body = Buffer.alloc(10);
      body.writeUInt32BE(id, 0);
      const h = Buffer.alloc(8);
      h.writeUInt32BE(0x80030001, 0);
      h.writeUInt32BE(((fin ? 1 : 0) << 24) | (10 + block.length), 4);
      conn.write(Buffer.concat([h, body, block]));
    },
    data(id: number, data: string, fin = false) {
      const h = Buffer.alloc(8);
      h.writeUInt32BE(id, 0);
      h.writeUInt32BE(((fin ? 1 : 0) << 24) | Buffer.byteLength(data), 4);
      conn.write(Buffer.concat([h, Buffer.from(data)]));
    },
    ping(id: number) {
      const b = Buffer.alloc(12);
      b.writeUInt32BE(0x80030006, 0);
      b.writeUInt32BE(4, 4);
      b.writeUInt32BE(id, 8);
      conn.write(b);
    },
    async next(): Promise<Buffer> {
      while (!frames.length) await new Promise<void>((r) => (wake = r));
      return frames.shift()!;
    },
    inflate: (b: Buffer) => step(inflate, b),
  };
}

test('a SPDY session answers streams, carries data both ways with FIN, refuses data after FIN and echoes pings', async (t) => {
  const [server, peer] = await socketPair();
  const session = new SpdySession(server);
  t.after(() => {
    session.close();
    peer.destroy();
  });
  const streams: SpdyStream[] = [];
  session.on('stream', (s) => streams.push(s));
  const c = client(peer);
  await c.synStream(1, { streamType: 'data', port: '80' });
  const reply = await c.next();
  assert.equal(reply.readUInt32BE(0), 0x80030002, 'a SYN_REPLY');
  assert.equal(reply.readUInt32BE(8), 1);
  assert.deepEqual([...decodeHeaderBlock(await c.inflate(reply.subarray(12)))], []);
  // A second stream: the header compression context carries over from the first.
  await c.synStream(3, { streamType: 'error', port: '80' });
  const reply2 = await c.next();
  assert.equal(reply2.readUInt32BE(8), 3);
  assert.deepEqual([...decodeHeaderBlock(await c.inflate(reply2.subarray(12)))], []);
  assert.deepEqual(
    streams.map((s) => [s.id, s.headers.get('streamtype')]),
    [
      [1, 'data'],
      [3, 'error'],
    ],
  );
  const s = streams[0]!;
  const got: Buffer[] = [];
  s.on('data', (b: Buffer) => got.push(b));
  const ended = new Promise((r) => s.once('end', r));
  c.data(1, 'hello ');
  c.data(1, 'there', true);
  await ended;
  assert.equal(Buffer.concat(got).toString(), 'hello there');
  s.end('answer');
  const data = await c.next();
  assert.equal(data.readUInt32BE(0), 1);
  assert.equal(data.subarray(8).toString(), 'answer');
  const fin = await c.next();
  assert.equal(fin.readUInt32BE(4), 0x01000000, 'an empty data frame with FIN');
  // Data after the peer's FIN is refused with RST_STREAM, not taken (PROTOCOL_ERROR while
  // the stream is open, INVALID_STREAM once it has closed).
  c.data(1, 'late');
  const rst = await c.next();
  assert.equal(rst.readUInt32BE(0), 0x80030003);
  assert.equal(rst.readUInt32BE(8), 1);
  assert.ok([1, 2].includes(rst.readUInt32BE(12)));
  c.ping(7);
  const pong = await c.next();
  assert.equal(pong.readUInt32BE(0), 0x80030006);
  assert.equal(pong.readUInt32BE(8), 7);
  const closed = new Promise((r) => peer.once('close', r));
  session.close();
  await closed;
});
