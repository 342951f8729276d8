// Client connections on libuv's TCP handles, against Node's own sockets on the loopback: bytes
// both ways, half-open ends, backpressure and drain, destroy, a taken port, the listener's close.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import type { ClientSocketEvents } from './client-socket.js';
import { listenRaw, type RawClient, type RawListener } from './raw-tcp.js';

/** A listener whose connections record what they were told. */
function recording(serve: (c: RawClient, ev: Recorder) => void): RawListener {
  return listenRaw({ address: '127.0.0.1', port: 0 }, (c) => {
    const ev = new Recorder();
    c.start(ev);
    serve(c, ev);
  });
}

/** What a connection was told; hooks act on it as it happens. */
class Recorder implements ClientSocketEvents {
  data: Buffer[] = [];
  ended = false;
  closed = false;
  dataHook?: (b: Buffer) => void;
  endHook?: () => void;
  drainHook?: () => void;
  readonly gone: Promise<void>;
  private done: () => void = () => {};

  constructor() {
    this.gone = new Promise((r) => {
      this.done = r;
    });
  }

  onData(b: Buffer): void {
    this.data.push(Buffer.from(b));
    this.dataHook?.(b);
  }

  onEnd(): void {
    this.ended = true;
    this.endHook?.();
  }

  onClose(): void {
    this.closed = true;
    this.done();
  }

  onDrain(): void {
    this.drainHook?.();
  }
}

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await once(s, 'connect');
  return s;
}

async function readAll(s: net.Socket): Promise<string> {
  let out = '';
  s.setEncoding('latin1');
  s.on('data', (d: string) => {
    out += d;
  });
  await once(s, 'end');
  return out;
}

test('bytes both ways; the client may end its side first and still get the answer', async () => {
  let conn: Recorder | undefined;
  const l = recording((c, ev) => {
    conn = ev;
    ev.endHook = () => {
      // Half-open: the answer goes out after the client's FIN, then ours.
      c.write(`${Buffer.concat(ev.data).toString('latin1').toUpperCase()} from ${c.remoteAddress}`);
      c.write(Buffer.from('!'));
      c.end();
    };
  });
  try {
    const s = await connect(l.port);
    const answer = readAll(s);
    s.end('hello');
    assert.equal(await answer, 'HELLO from 127.0.0.1!');
    await conn?.gone;
    assert.equal(conn?.ended, true);
    assert.equal(l.clients.size, 0, 'a closed connection leaves the listener');
    s.destroy();
  } finally {
    l.close();
  }
});

test('writes past the high-water mark return false and drain once the client reads', async () => {
  let conn: RawClient | undefined;
  let rec: Recorder | undefined;
  let accept: () => void = () => {};
  const accepted = new Promise<void>((r) => {
    accept = r;
  });
  const l = recording((c, ev) => {
    conn = c;
    rec = ev;
    accept();
  });
  try {
    const s = await connect(l.port);
    s.pause();
    await accepted;
    const c = conn as RawClient;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let writes = 0;
    while (c.write(chunk)) writes++;
    writes++;
    assert.ok(c.writableLength > 0, 'bytes are held back');
    const drained = new Promise<void>((r) => {
      (rec as Recorder).drainHook = r;
    });
    const got = readAll(s);
    s.resume();
    await drained;
    assert.equal(c.writableLength, 0);
    c.write('end');
    c.end();
    const text = await got;
    assert.equal(text.length, writes * chunk.length + 3);
    assert.ok(text.endsWith('xend'));
    s.destroy();
  } finally {
    l.close();
  }
});

test('destroy closes at once; writes after it are refused', async () => {
  let rec: Recorder | undefined;
  const l = recording((c, ev) => {
    rec = ev;
    ev.dataHook = () => {
      c.destroy();
      assert.equal(c.write('late'), false);
    };
  });
  try {
    const s = await connect(l.port);
    // The client's sockets are half-open: the server's close shows as their 'end'.
    const closed = once(s, 'end');
    s.write('x');
    await closed;
    await rec?.gone;
    assert.equal(rec?.closed, true);
    s.destroy();
  } finally {
    l.close();
  }
});

test('a taken port is refused as net.Server refuses it, and closing the listener closes its connections', async () => {
  const l = recording(() => {});
  try {
    assert.throws(
      () => listenRaw({ address: '127.0.0.1', port: l.port }, () => {}),
      (e: Error & { code?: string }) =>
        e.code === 'EADDRINUSE' &&
        e.message === `listen EADDRINUSE: address already in use 127.0.0.1:${l.port}`,
    );
    const s = await connect(l.port);
    const closed = once(s, 'end');
    while (l.clients.size === 0) await new Promise((r) => setImmediate(r));
    l.close();
    await closed;
    s.destroy();
  } finally {
    l.close();
  }
});
