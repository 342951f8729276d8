// The strict head parser: what it reads, and the hostile and ambiguous heads it refuses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type HeadResult, parseRequestHead, parseResponseHead } from './http1-head.js';

const MAX = 16 * 1024;
const req = (s: string) => parseRequestHead(Buffer.from(s, 'latin1'), MAX);
const res = (s: string) => parseResponseHead(Buffer.from(s, 'latin1'), MAX);

/** The status a head is refused with (fails when it is not refused). */
function refused(r: HeadResult<unknown>): number {
  assert.ok(r && 'error' in r, `expected a refusal, got ${JSON.stringify(r)}`);
  return r.error.status;
}

test('a request head: line, fields in their order and case, framing, size', () => {
  const text =
    'POST /a?b=1 HTTP/1.1\r\nHost: x.test\r\nX-Thing:  v 1 \r\nContent-Length: 5\r\nConnection: keep-alive, X-Hop\r\n\r\nhello';
  const r = req(text);
  assert.ok(r && 'head' in r);
  const h = r.head;
  assert.equal(h.method, 'POST');
  assert.equal(h.target, '/a?b=1');
  assert.equal(h.minor, 1);
  assert.equal(h.host, 'x.test');
  assert.equal(h.contentLength, 5);
  assert.equal(h.chunked, false);
  assert.deepEqual(h.connection, ['keep-alive', 'x-hop']);
  assert.deepEqual(
    h.fields.map((f) => [f.name, f.value]),
    [
      ['Host', 'x.test'],
      ['X-Thing', 'v 1'],
      ['Content-Length', '5'],
      ['Connection', 'keep-alive, X-Hop'],
    ],
  );
  assert.equal(h.size, text.length - 5);
});

test('incomplete heads wait for more; empty lines before the request line are skipped', () => {
  assert.equal(req('GET / HTTP/1.1\r\nHost: a\r\n'), undefined);
  assert.equal(req('GET / HTTP/1.1\r\nHost: a\r\n\r'), undefined);
  assert.equal(req(''), undefined);
  const r = req('\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.ok(r && 'head' in r);
  assert.equal(r.head.size, 4 + 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'.length);
});

test('HTTP/1.0 needs no Host; HTTP/1.1 needs exactly one', () => {
  const r = req('GET /f HTTP/1.0\r\n\r\n');
  assert.ok(r && 'head' in r);
  assert.equal(r.head.minor, 0);
  assert.equal(r.head.host, undefined);
  assert.equal(refused(req('GET / HTTP/1.1\r\n\r\n')), 400);
  assert.equal(refused(req('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n')), 400);
});

test('request smuggling shapes are refused', () => {
  const shapes: [string, number][] = [
    // Both framings: which one a next hop believes decides where the next request starts.
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n', 400],
    // Two lengths, equal or not, and lists.
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 4\r\n\r\n', 400],
    // Lengths that are not plain digits.
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x4\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4 4\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n', 400],
    // Transfer-Encodings other than exactly chunked, twice, or in HTTP/1.0.
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n', 501],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n', 501],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n', 501],
    ['POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    // Whitespace before the colon, obs-fold, a name that is not a token.
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: a\r\nX: 1\r\n Transfer-Encoding: chunked\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\tmore\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n', 400],
    // Bare CR or LF as line ends, and control characters.
    ['GET / HTTP/1.1\nHost: a\n\n', 400],
    ['GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost: a\rX: 1\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost: a\r\nX: a\x1bb\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n', 400],
    // Malformed request lines.
    ['GET  / HTTP/1.1\r\nHost: a\r\n\r\n', 400],
    ['GET / HTTP/1.1 \r\nHost: a\r\n\r\n', 400],
    ['GET /a b HTTP/1.1\r\nHost: a\r\n\r\n', 400],
    ['GET /\xe9 HTTP/1.1\r\nHost: a\r\n\r\n', 400],
    ['G\x00T / HTTP/1.1\r\nHost: a\r\n\r\n', 400],
    ['GET / http/1.1\r\nHost: a\r\n\r\n', 400],
    ['GET /\r\n\r\n', 400],
    ['GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505],
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505],
    ['GET / HTTP/1.2\r\nHost: a\r\n\r\n', 505],
  ];
  for (const [text, status] of shapes) assert.equal(refused(req(text)), status, JSON.stringify(text));
});

test('a head larger than the limit is 431, found as soon as the limit is passed', () => {
  const big = `GET / HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(MAX)}`;
  assert.equal(refused(req(big)), 431);
  // Exactly at the limit is fine.
  const fit = `GET / HTTP/1.1\r\nHost: a\r\nX: `;
  const whole = `${fit}${'a'.repeat(MAX - fit.length - 4)}\r\n\r\n`;
  assert.equal(whole.length, MAX);
  const r = req(whole);
  assert.ok(r && 'head' in r);
  // Endless empty lines are not skipped for ever.
  assert.equal(refused(req('\r\n'.repeat(MAX))), 431);
});

test('a pipelined request after a head is left for the next parse', () => {
  const one = 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\n';
  const r = req(`${one}GET /2 HTTP/1.1\r\nHost: a\r\n\r\n`);
  assert.ok(r && 'head' in r);
  assert.equal(r.head.target, '/1');
  assert.equal(r.head.size, one.length);
});

test('Upgrade, Expect and values with obs-text and tabs', () => {
  const r = req(
    'GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nExpect: 100-continue\r\nX: \tcaf\xe9\t\r\n\r\n',
  );
  assert.ok(r && 'head' in r);
  assert.equal(r.head.upgrade, 'websocket');
  assert.deepEqual(r.head.connection, ['upgrade']);
  assert.equal(r.head.expect, '100-continue');
  assert.equal(r.head.fields.at(-1)?.value, 'caf\xe9');
});

test('response heads: status, reason, framing; malformed ones are the backend failing (502)', () => {
  const r = res('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
  assert.ok(r && 'head' in r);
  assert.equal(r.head.status, 200);
  assert.equal(r.head.reason, 'OK');
  assert.equal(r.head.contentLength, 2);
  assert.deepEqual(r.head.connection, ['close']);
  const bare = res('HTTP/1.0 204\r\n\r\n');
  assert.ok(bare && 'head' in bare);
  assert.equal(bare.head.minor, 0);
  assert.equal(bare.head.reason, '');
  for (const bad of [
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n',
    'HTTP/1.1 20 OK\r\n\r\n',
    'HTTP/2 200\r\n\r\n',
    'HTTP/1.1 200 OK\nX: 1\n\n',
  ])
    assert.equal(refused(res(bad)), 502, JSON.stringify(bad));
});
