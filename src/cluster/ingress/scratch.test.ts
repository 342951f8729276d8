// The scratch buffer's writes: one copy of head and bytes per write, reused only while no write
// kept it. (proxy.test.ts runs it against real sockets that hold writes back.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scratch, type WriteTarget } from './scratch.js';

/** A target that records what it was given and holds back as told. */
class Target implements WriteTarget {
  got: Uint8Array[] = [];
  writableLength = 0;
  constructor(
    readonly tls = false,
    private readonly holds = false,
  ) {}
  write(data: Uint8Array): boolean {
    this.got.push(data);
    if (this.holds) this.writableLength += data.length;
    return !this.holds;
  }
}

const text = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('latin1');

test('head and bytes go out as one write; the scratch is reused while nothing is held', () => {
  const s = new Scratch();
  const t = new Target();
  const read = Buffer.from('xxbodyxx', 'latin1');
  assert.equal(s.write(t, 'HEAD\r\n', read, 2, 6), true);
  read.write('yyotheryy', 'latin1');
  assert.equal(s.write(t, '', read, 2, 7), true);
  assert.equal(text(t.got[1]), 'other');
  // The kernel took the first write: the second reused its memory.
  assert.equal(t.got[0]?.buffer, t.got[1]?.buffer);
});

test('a write held back keeps the scratch: the next write gets another, the held bytes stay', () => {
  const s = new Scratch();
  const held = new Target(false, true);
  assert.equal(s.write(held, 'H:', Buffer.from('kept'), 0, 4), false);
  const other = new Target();
  s.write(other, '', Buffer.from('later'), 0, 5);
  assert.notEqual(other.got[0]?.buffer, held.got[0]?.buffer);
  assert.equal(text(held.got[0]), 'H:kept');
});

test('TLS targets and writes larger than the scratch get a buffer of their own', () => {
  const s = new Scratch();
  const plain = new Target();
  s.write(plain, '', Buffer.from('a'), 0, 1);
  const tls = new Target(true);
  s.write(tls, 'T', Buffer.from('b'), 0, 1);
  assert.equal(text(tls.got[0]), 'Tb');
  const big = Buffer.alloc(70 * 1024, 0x41);
  s.write(plain, 'B', big, 0, big.length);
  assert.equal(plain.got[1]?.length, big.length + 1);
  s.write(plain, '', Buffer.from('c'), 0, 1);
  // Neither took the scratch: the plain writes still share it.
  assert.equal(plain.got[2]?.buffer, plain.got[0]?.buffer);
  assert.notEqual(tls.got[0]?.buffer, plain.got[0]?.buffer);
  assert.notEqual(plain.got[1]?.buffer, plain.got[0]?.buffer);
});
