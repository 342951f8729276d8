// Body framing: where a body ends, byte by byte or all at once, and the chunked bodies refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BodyReader, type Framing, requestFraming, responseFraming } from './http1-body.js';

/** Feeds `text` in pieces of `step` bytes; returns where the body ended in the whole text (-1: refused). */
function endOf(
  framing: Framing,
  text: string,
  step = text.length || 1,
): { end: number; reader: BodyReader; data: string } {
  let data = '';
  const reader = new BodyReader(framing, (b, s, e) => {
    data += b.toString('latin1', s, e);
  });
  const all = Buffer.from(text, 'latin1');
  for (let at = 0; at < all.length; at += step) {
    const piece = all.subarray(at, Math.min(at + step, all.length));
    const end = reader.feed(piece, 0);
    if (end < 0) return { end: -1, reader, data };
    if (reader.done) return { end: at + end, reader, data };
  }
  return { end: reader.done ? all.length : Number.NaN, reader, data };
}

test('Content-Length bodies end at their length, in one piece or many', () => {
  for (const step of [1, 3, 100]) {
    const r = endOf({ kind: 'length', length: 5 }, 'helloGET /next', step);
    assert.equal(r.end, 5);
    assert.equal(r.reader.payload, 5);
  }
  assert.equal(new BodyReader({ kind: 'length', length: 0 }).done, true);
  assert.equal(new BodyReader({ kind: 'none' }).done, true);
});

test('chunked bodies end after the last chunk and trailers, in one piece or byte by byte', () => {
  const body = '5\r\nhello\r\n6;ext=1;q="a b"\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n';
  for (const step of [1, 2, 7, body.length + 10]) {
    const r = endOf({ kind: 'chunked' }, `${body}GET /next`, step);
    assert.equal(r.end, body.length, `step ${step}`);
    assert.equal(r.reader.payload, 11);
    assert.equal(r.data, 'hello world');
  }
  const upper = endOf({ kind: 'chunked' }, 'A\r\n0123456789\r\n0\r\n\r\n');
  assert.equal(upper.reader.payload, 10);
  assert.equal(upper.end, 20);
});

test('malformed chunked bodies are refused', () => {
  const bad = [
    'x\r\n',
    ' 5\r\nhello\r\n0\r\n\r\n',
    '5 \r\nhello\r\n0\r\n\r\n',
    '5\nhello\r\n0\r\n\r\n',
    '5\r\nhelloX\r\n0\r\n\r\n',
    '5\r\nhello\n0\r\n\r\n',
    '-5\r\n',
    '0x5\r\n',
    '+5\r\n',
    `${'f'.repeat(14)}\r\n`,
    '5;a=\x00\r\nhello\r\n',
    '0\r\nX: a\x01\r\n\r\n',
    '0\r\n folded\r\n\r\n',
    '0\r\nX: 1\n\r\n',
    '0\r\n\rX',
    `5;${'e'.repeat(5000)}\r\n`,
    `0\r\n${'X: aaaaaaaaaaaaaaaa\r\n'.repeat(1000)}\r\n`,
  ];
  for (const text of bad) {
    const r = endOf({ kind: 'chunked' }, text);
    assert.equal(r.end, -1, JSON.stringify(text.slice(0, 40)));
    assert.ok(r.reader.error);
  }
});

test('a body to the end of the connection takes every byte', () => {
  const r = new BodyReader({ kind: 'close' });
  assert.equal(r.feed(Buffer.from('abc'), 1), 3);
  assert.equal(r.payload, 2);
  assert.equal(r.done, false);
});

test('which framing a request and a response have', () => {
  assert.deepEqual(requestFraming({ contentLength: undefined, chunked: false }), { kind: 'none' });
  assert.deepEqual(requestFraming({ contentLength: 0, chunked: false }), { kind: 'none' });
  assert.deepEqual(requestFraming({ contentLength: 3, chunked: false }), { kind: 'length', length: 3 });
  assert.deepEqual(requestFraming({ contentLength: undefined, chunked: true }), { kind: 'chunked' });
  const ok = { status: 200, contentLength: 3, chunked: false };
  assert.deepEqual(responseFraming('GET', ok), { kind: 'length', length: 3 });
  assert.deepEqual(responseFraming('HEAD', ok), { kind: 'none' });
  for (const status of [101, 103, 204, 304])
    assert.deepEqual(responseFraming('GET', { ...ok, status }), { kind: 'none' });
  assert.deepEqual(responseFraming('GET', { ...ok, contentLength: undefined }), { kind: 'close' });
  assert.deepEqual(responseFraming('GET', { ...ok, contentLength: undefined, chunked: true }), {
    kind: 'chunked',
  });
});
