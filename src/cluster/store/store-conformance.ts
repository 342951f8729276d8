/**
 * The one conformance suite every {@link Store} implementation passes (SQLite and etcd).
 * Each test gets a fresh store from the factory, with keys under a unique prefix so a
 * backend may share one server between tests.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { errorCode } from '../../core/errors.js';
import type { Store, WatchEvent } from './store.js';

export interface StoreFactory {
  /** A fresh store (or a fresh view of a shared one). */
  open(): Promise<Store>;
}

function collect(store: Store, prefix: string, after: number) {
  const events: WatchEvent[] = [];
  let error: Error | undefined;
  const waiters: (() => void)[] = [];
  const w = store.watch(prefix, after, {
    onEvents: (evs) => {
      events.push(...evs);
      for (const f of waiters.splice(0)) f();
    },
    onError: (e) => {
      error = e;
      for (const f of waiters.splice(0)) f();
    },
  });
  const until = async (pred: () => boolean, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline)
        throw new Error(`timed out; have ${events.length} events, error ${error?.message}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  return { events, error: () => error, until, close: () => w.close() };
}

export function storeSuite(name: string, factory: StoreFactory, options: { skip?: boolean } = {}): void {
  describe(`store conformance: ${name}`, { skip: options.skip }, () => {
    const p = () => `/t/${randomBytes(4).toString('hex')}/`;

    test('create, get, update, delete with revisions', async () => {
      const s = await factory.open();
      const k = `${p()}a`;
      const r0 = await s.revision();
      const c = await s.create(k, 'v1');
      assert.equal(c.modRevision, r0 + 1);
      assert.equal(c.createRevision, c.modRevision);
      assert.deepEqual(await s.get(k), c);
      await assert.rejects(s.create(k, 'again'), (e) => errorCode(e) === 'AlreadyExists');
      const u = await s.update(k, 'v2', c.modRevision);
      assert.equal(u.modRevision, c.modRevision + 1);
      assert.equal(u.createRevision, c.createRevision);
      await assert.rejects(s.update(k, 'stale', c.modRevision), (e) => errorCode(e) === 'Conflict');
      await assert.rejects(s.delete(k, c.modRevision), (e) => errorCode(e) === 'Conflict');
      const d = await s.delete(k, u.modRevision);
      assert.equal(d.value, 'v2');
      assert.equal(await s.get(k), undefined);
      assert.equal(await s.revision(), u.modRevision + 1);
      await assert.rejects(s.update(k, 'x', 1), (e) => errorCode(e) === 'NotFound');
      await assert.rejects(s.delete(k), (e) => errorCode(e) === 'NotFound');
      const again = await s.create(k, 'v3');
      assert.equal(again.createRevision, again.modRevision, 'a re-created key starts a new life');
      await s.close();
    });

    test('list by prefix with pagination, count and list at a past revision', async () => {
      const s = await factory.open();
      const pre = p();
      for (let i = 0; i < 7; i++) await s.create(`${pre}k${i}`, `v${i}`);
      await s.create(`${pre.slice(0, -1)}x/other`, 'not in prefix');
      const all = await s.list(pre);
      assert.deepEqual(
        all.items.map((i) => i.key),
        [0, 1, 2, 3, 4, 5, 6].map((i) => `${pre}k${i}`),
      );
      assert.equal(all.more, false);
      assert.equal(await s.count(pre), 7);
      const page1 = await s.list(pre, { limit: 3 });
      assert.equal(page1.items.length, 3);
      assert.equal(page1.more, true);
      assert.equal(page1.remaining, 4);
      await s.update(`${pre}k4`, 'changed', (await s.get(`${pre}k4`))!.modRevision);
      await s.delete(`${pre}k5`);
      const page2 = await s.list(pre, {
        limit: 3,
        startAfter: page1.items[2]!.key,
        revision: page1.revision,
      });
      assert.deepEqual(
        page2.items.map((i) => [i.key, i.value]),
        [
          [`${pre}k3`, 'v3'],
          [`${pre}k4`, 'v4'],
          [`${pre}k5`, 'v5'],
        ],
        'a page at the first page revision sees the old values',
      );
      const now = await s.list(pre);
      assert.equal(now.items.length, 6);
      assert.equal(now.items.find((i) => i.key === `${pre}k4`)!.value, 'changed');
      await s.close();
    });

    test('a list larger than any backend page, and bigger than 4 MiB, is complete', async () => {
      const s = await factory.open();
      const pre = p();
      const big = 'x'.repeat(8 * 1024);
      const n = 1100;
      for (let i = 0; i < n; i += 50)
        await Promise.all(
          Array.from({ length: Math.min(50, n - i) }, (_, j) =>
            s.create(`${pre}${String(i + j).padStart(5, '0')}`, big),
          ),
        );
      const all = await s.list(pre);
      assert.equal(all.items.length, n);
      assert.equal(all.more, false);
      assert.equal(new Set(all.items.map((i) => i.key)).size, n);
      const some = await s.list(pre, { limit: 700 });
      assert.equal(some.items.length, 700);
      assert.equal(some.more, true);
      assert.equal(some.remaining, n - 700);
      await s.close();
    });

    test('watch from a past revision delivers every event in order with prevKv', async () => {
      const s = await factory.open();
      const pre = p();
      const start = await s.revision();
      const a = await s.create(`${pre}a`, '1');
      await s.update(`${pre}a`, '2', a.modRevision);
      const w = collect(s, pre, start);
      await s.create(`${pre}b`, 'x');
      await s.create(`/elsewhere/${pre}c`, 'ignored');
      await s.delete(`${pre}a`);
      await w.until(() => w.events.length >= 4);
      assert.deepEqual(
        w.events.map((e) => [e.type, e.kv.key.slice(pre.length), e.kv.value]),
        [
          ['put', 'a', '1'],
          ['put', 'a', '2'],
          ['put', 'b', 'x'],
          ['delete', 'a', '2'],
        ],
      );
      const revs = w.events.map((e) => e.kv.modRevision);
      assert.deepEqual(
        revs,
        [...revs].sort((x, y) => x - y),
      );
      assert.equal(w.events[1]!.prevKv?.value, '1');
      assert.equal(w.events[3]!.prevKv?.value, '2');
      assert.equal(w.events[3]!.kv.modRevision, await s.revision());
      w.close();
      await s.close();
    });

    test('compaction: old revisions are Gone for lists and watches, live values stay', async () => {
      const s = await factory.open();
      const pre = p();
      const first = await s.create(`${pre}a`, '1');
      let cur = first;
      for (let i = 2; i <= 5; i++) cur = await s.update(`${pre}a`, String(i), cur.modRevision);
      await s.create(`${pre}b`, 'b');
      await s.delete(`${pre}b`);
      const rev = await s.revision();
      await s.compact(cur.modRevision);
      assert.ok((await s.compactedRevision()) >= cur.modRevision);
      assert.equal((await s.get(`${pre}a`))!.value, '5');
      await assert.rejects(s.list(pre, { revision: first.modRevision }), (e) => errorCode(e) === 'Gone');
      const w = collect(s, pre, first.modRevision);
      await w.until(() => w.error() !== undefined);
      assert.equal(errorCode(w.error()), 'Gone');
      const ok = collect(s, pre, cur.modRevision);
      await ok.until(() => ok.events.length >= 2);
      assert.deepEqual(
        ok.events.map((e) => e.type),
        ['put', 'delete'],
      );
      assert.equal((await s.list(pre, { revision: rev })).items.length, 1);
      ok.close();
      await s.close();
    });

    test('concurrent writers: every write lands once, conflicts are reported', async () => {
      const s = await factory.open();
      const pre = p();
      await Promise.all(Array.from({ length: 50 }, (_, i) => s.create(`${pre}${i}`, String(i))));
      assert.equal(await s.count(pre), 50);
      const base = await s.create(`${pre}shared`, '0');
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => s.update(`${pre}shared`, String(i), base.modRevision)),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.equal(errorCode(r.reason), 'Conflict');
      await s.close();
    });
  });
}
