// TLS on libuv's handles and node:tls's TLSWrap (raw-tls.ts): what node:tls's server did for the
// Ingress and the proxy tests do not reach (a handshake that never ends or ends early,
// renegotiation). The fallback to node:http2's server is tested with the plain one's
// (plain-listener.test.ts).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { selfSignedCertificate, tlsOptions } from './certs.js';
import type { ClientSocket } from './client-socket.js';
import type { RawListener } from './raw-tcp.js';
import { listenRawTls, rawTlsMissing } from './raw-tls.js';

const cert = selfSignedCertificate('raw.test');
const context = tls.createSecureContext({ ...tlsOptions, ...cert });

/** Answers each read with a short 200 (one request per read is enough here). */
function answer(c: ClientSocket): void {
  c.start({
    onData: () => c.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'),
    onEnd: () => c.end(),
    onClose: () => {},
    onDrain: () => {},
  });
}

/** Resolves once `l` holds no connection (each is closed and forgotten). */
async function drained(l: RawListener): Promise<void> {
  for (let i = 0; i < 200 && l.clients.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(l.clients.size, 0);
}

test('this Node has every internal TLS on the raw handles needs', () => {
  assert.equal(rawTlsMissing, undefined);
});

describe('the raw TLS listener', () => {
  let l: RawListener;
  before(() => {
    l = listenRawTls(
      { address: '127.0.0.1', port: 0 },
      {
        defaultContext: context,
        contextFor: () => context,
        protocols: ['http/1.1'],
        http1: answer,
        h2: (s) => s.destroy(),
        handshakeTimeoutMs: 300,
      },
    );
  });
  after(() => l.close());

  test('serves HTTPS/1.1 and forgets the connection once the client goes', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: l.port, rejectUnauthorized: false, agent: false }, (res) => {
          let b = '';
          res.on('data', (d) => {
            b += d;
          });
          res.on('end', () => resolve(b));
        })
        .on('error', reject);
    });
    assert.equal(text, 'ok');
    await drained(l);
  });

  test('a client silent past the handshake timeout is closed', { timeout: 10_000 }, async () => {
    const s = net.connect(l.port, '127.0.0.1');
    await once(s, 'connect');
    const t0 = Date.now();
    await once(s, 'close');
    assert.ok(Date.now() - t0 >= 250, 'closed before the timeout');
    await drained(l);
  });

  test('a client gone halfway through its hello is forgotten', { timeout: 10_000 }, async () => {
    const s = net.connect(l.port, '127.0.0.1');
    await once(s, 'connect');
    // The first bytes of a TLS record with a ClientHello, and no more.
    s.end(Buffer.from([0x16, 0x03, 0x01, 0x01, 0x00, 0x01]));
    await once(s, 'close');
    await drained(l);
  });

  test('bytes that are not TLS end the connection', { timeout: 10_000 }, async () => {
    const s = net.connect(l.port, '127.0.0.1');
    await once(s, 'connect');
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(s, 'close');
    await drained(l);
  });

  test("a client's renegotiations past node:tls's limit (3 in 10 minutes) end the connection", {
    timeout: 10_000,
  }, async () => {
    const s = tls.connect({
      host: '127.0.0.1',
      port: l.port,
      rejectUnauthorized: false,
      maxVersion: 'TLSv1.2',
    });
    await once(s, 'secureConnect');
    s.on('error', () => {});
    const closed = once(s, 'close');
    let done = 0;
    for (let i = 0; i < 5; i++) {
      // The one past the limit gets no answer: the connection closes instead.
      const ok = await Promise.race([
        new Promise<boolean>((resolve) => {
          if (!s.renegotiate({ rejectUnauthorized: false }, (err) => resolve(!err))) resolve(false);
        }),
        closed.then(() => false),
      ]);
      if (!ok) break;
      done++;
    }
    await closed;
    assert.equal(done, 3);
    await drained(l);
  });
});
