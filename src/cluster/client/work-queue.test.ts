import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conflict } from '../../core/errors.js';
import { logLevel, setLogLevel, setLogSink } from '../../core/log.js';
import { Expectations } from './expectations.js';
import { RateLimiter } from './rate-limiter.js';
import { WorkQueue } from './work-queue.js';

test('rate limiter: per-key exponential back-off from 5 ms to 1,000 s, reset by forget', () => {
  const r = new RateLimiter(5, 1_000_000, 1e9, 1e9, () => 0);
  assert.deepEqual([r.when('a'), r.when('a'), r.when('a'), r.when('b')], [5, 10, 20, 5]);
  for (let i = 0; i < 40; i++) r.when('a');
  assert.equal(r.when('a'), 1_000_000);
  r.forget('a');
  assert.equal(r.when('a'), 5);
});

test('rate limiter: the overall bucket (10/s, burst 100) slows a storm of distinct keys', () => {
  const r = new RateLimiter(5, 1_000_000, 10, 100, () => 0);
  const delays = Array.from({ length: 110 }, (_, i) => r.when(`k${i}`));
  assert.equal(delays[99], 5, 'the burst passes at the per-key delay');
  assert.equal(delays[109], 1000, 'the tenth key past the burst waits a second');
});

test('a paused queue holds keys until start; a failed sync is logged with its key and retried', async () => {
  const lines: string[] = [];
  const prev = setLogSink((l) => lines.push(l));
  try {
    const seen: string[] = [];
    let fail = true;
    let done!: () => void;
    const finished = new Promise<void>((r) => {
      done = r;
    });
    const q = new WorkQueue(
      async (key) => {
        seen.push(key);
        if (fail) {
          fail = false;
          throw new Error('boom');
        }
        done();
      },
      { name: 'test-controller', paused: true },
    );
    q.add('default/web');
    q.add('default/web');
    assert.equal(q.length, 1, 'queued once, not run while paused');
    assert.deepEqual(seen, []);
    q.start();
    // The queue's retry timer is unref'd (it never holds a server open); this test must wait for it.
    const alive = setInterval(() => {}, 1000);
    await finished.finally(() => clearInterval(alive));
    q.stop();
    assert.deepEqual(seen, ['default/web', 'default/web']);
    const line = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'sync failed; retrying');
    assert.ok(line, lines.join('\n'));
    assert.equal(line.controller, 'test-controller');
    assert.equal(line.key, 'default/web');
    assert.equal(line.err, 'boom');
  } finally {
    setLogSink(prev);
  }
});

test('a sync that fails with Conflict is retried with a debug line only, until it keeps failing', async () => {
  const lines: string[] = [];
  const prevSink = setLogSink((l) => lines.push(l));
  const prevLevel = logLevel();
  setLogLevel('warn');
  try {
    let failures = 7;
    let done!: () => void;
    const finished = new Promise<void>((r) => {
      done = r;
    });
    const q = new WorkQueue(
      async () => {
        if (failures-- > 0)
          throw conflict('Operation cannot be fulfilled on nodes "n1": the object has been modified');
        done();
      },
      { name: 'test-controller' },
    );
    q.add('n1');
    // The queue's retry timer is unref'd (it never holds a server open); this test must wait for it.
    const alive = setInterval(() => {}, 1000);
    await finished.finally(() => clearInterval(alive));
    q.stop();
    const retries = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'sync failed; retrying');
    assert.deepEqual(
      retries.map((l) => [l.level, l.retries]),
      [
        ['warn', 6],
        ['warn', 7],
      ],
    );
  } finally {
    setLogLevel(prevLevel);
    setLogSink(prevSink);
  }
});

test('expectations: satisfied once observed, or at once when the owner is deleted', () => {
  let now = 0;
  const e = new Expectations(() => now);
  e.expect('ns/a', 2, 0);
  e.observed('ns/a', 'add');
  assert.equal(e.satisfied('ns/a'), false);
  e.observed('ns/a', 'add');
  assert.equal(e.satisfied('ns/a'), true);
  e.expect('ns/b', 5, 0);
  e.delete('ns/b');
  assert.equal(e.satisfied('ns/b'), true);
  assert.equal(e.size, 0);
  e.expect('ns/c', 1, 0);
  now = Expectations.TIMEOUT_MS + 1;
  assert.equal(e.satisfied('ns/c'), true, 'a lost event only delays');
});
