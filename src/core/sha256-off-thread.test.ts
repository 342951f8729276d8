import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { offThreadHash } from './sha256-off-thread.js';

const expected = (chunks: Buffer[]) => {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return `sha256:${h.digest('hex')}`;
};

async function feed(chunks: Buffer[]): Promise<string> {
  const hash = offThreadHash();
  for (const c of chunks) {
    const wait = hash.update(c);
    if (wait) await wait;
  }
  return hash.digest();
}

test('the digest is that of every chunk in order, across more data than the shared slots hold', async () => {
  // 40 MB in uneven chunks, some larger than a slot: updates must wait for slots to come back.
  const chunks = Array.from({ length: 30 }, (_, i) => randomBytes(((i * 7919) % 3) * 700_000 + 1 + i));
  assert.equal(await feed(chunks), expected(chunks));
  assert.equal(await feed([]), expected([]));
});

test('several hashes at once keep their streams apart', async () => {
  const streams = Array.from({ length: 5 }, (_, i) =>
    Array.from({ length: 8 }, () => randomBytes(300_000 + i)),
  );
  const got = await Promise.all(streams.map(feed));
  assert.deepEqual(
    got,
    streams.map((s) => expected(s)),
  );
});

test('a dropped hash leaves the thread usable and the process free to exit', async () => {
  const dropped = offThreadHash();
  dropped.update(randomBytes(100));
  dropped.drop();
  dropped.drop();
  assert.throws(() => dropped.update(Buffer.from('x')), /closed/);
  await assert.rejects(dropped.digest(), /closed/);
  const chunks = [randomBytes(5000)];
  assert.equal(await feed(chunks), expected(chunks));
  // The test runner would time out here if an open hash still held the thread.
});
