import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openEngineDb } from '../state/db.js';
import { defaultContainerConfig } from './config.js';
import { restartDelayMs } from './lifecycle.js';
import { type ContainerRecord, ContainerStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const rec = (id: string, name: string): ContainerRecord => ({
  id,
  name,
  config: defaultContainerConfig({ cmd: ['true'] }),
  state: 'created',
  pid: 0,
  exitCode: 0,
  error: '',
  oomKilled: false,
  createdAt: new Date().toISOString(),
  startedAt: '',
  finishedAt: '',
  restartCount: 0,
  stoppedByUser: false,
  runtime: 'runc',
});

describe('ContainerStore', () => {
  const store = new ContainerStore(openEngineDb(dir));
  it('refuses a taken name and finds by name, id and prefix', () => {
    store.insert(rec('ab'.repeat(32), 'one'));
    assert.throws(() => store.insert(rec('cd'.repeat(32), 'one')), /"\/one" is already in use/);
    assert.equal(store.get('one').id, 'ab'.repeat(32));
    assert.equal(store.get('abab').name, 'one');
    assert.throws(() => store.get('nope'), /No such container: nope/);
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
