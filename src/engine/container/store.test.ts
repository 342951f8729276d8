import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { openEngineDb } from '../state/db.js';
import { defaultContainerConfig } from './config.js';
import { restartDelayMs } from './lifecycle.js';
import { ContainerStore, createdRecord } from './store.js';

const dir = tempDir('berth-store-');

const rec = (id: string, name: string) =>
  createdRecord(id, name, defaultContainerConfig({ cmd: ['true'] }), 'runc');

describe('ContainerStore', () => {
  const db = openEngineDb(dir);
  const store = new ContainerStore(db);
  it('refuses a taken name and finds by name, id and prefix', () => {
    store.insert(rec('ab'.repeat(32), 'one'));
    assert.throws(() => store.insert(rec('cd'.repeat(32), 'one')), /"\/one" is already in use/);
    assert.equal(store.get('one').id, 'ab'.repeat(32));
    assert.equal(store.get('abab').name, 'one');
    assert.throws(() => store.get('nope'), /No such container: nope/);
  });

  it('selects by labels, with and without a value, keys with dots and slashes included', () => {
    const labelled = (id: string, name: string, labels: Record<string, string>) => {
      const r = rec(id, name);
      return { ...r, config: { ...r.config, labels } };
    };
    store.insert(labelled('e1'.repeat(32), 'l1', { 'io.kubernetes.pod.uid': 'u1', app: 'x' }));
    store.insert(labelled('e2'.repeat(32), 'l2', { 'io.kubernetes.pod.uid': 'u2' }));
    store.insert(labelled('e3'.repeat(32), 'l3', { 'example.com/a=b': 'v' }));
    const names = (labels: [string, string | undefined][]) =>
      store
        .list(labels)
        .map((r) => r.name)
        .sort();
    assert.deepEqual(names([['io.kubernetes.pod.uid', 'u1']]), ['l1']);
    assert.deepEqual(names([['io.kubernetes.pod.uid', undefined]]), ['l1', 'l2']);
    assert.deepEqual(
      names([
        ['io.kubernetes.pod.uid', 'u1'],
        ['app', 'y'],
      ]),
      [],
    );
    assert.deepEqual(names([['example.com/a=b', 'v']]), ['l3']);
    assert.ok(store.list().length >= 4);
    // A pod's containers are found through the index, as list() writes a plain key's path.
    const plan = db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT * FROM containers WHERE json_extract(config, '$.labels."io.kubernetes.pod.uid"') = ?`,
      )
      .all('u1') as { detail: string }[];
    assert.match(plan.map((p) => p.detail).join('\n'), /USING INDEX containers_pod_uid/);
  });

  it('changes state only from the expected states', () => {
    const id = 'ab'.repeat(32);
    assert.equal(store.update(id, { state: 'exited' }, ['running']), undefined);
    assert.equal(store.update(id, { state: 'running', pid: 5 }, ['created'])?.state, 'running');
    assert.equal(store.update(id, { oomKilled: true })?.oomKilled, true);
  });
});

describe('restart back-off', () => {
  it('doubles from 100 ms up to a minute', () => {
    assert.deepEqual([0, 1, 2, 20].map(restartDelayMs), [100, 200, 400, 60_000]);
  });
});
