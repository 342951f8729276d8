import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openEngineDb } from '../state/db.js';
import { checkEventFilters, EventJournal, JOURNAL_LIMIT } from './journal.js';

describe('event journal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-journal-'));
  const db = openEngineDb(dir);
  const journal = new EventJournal(db);
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads back in order with Docker filters: values of a key are alternatives, keys all match', () => {
    journal.append('container', 'create', 'c1', { name: 'web', image: 'busybox', tier: 'front' });
    journal.append('container', 'start', 'c1', { name: 'web', image: 'busybox', tier: 'front' });
    journal.append('image', 'tag', 'sha256:aa', { name: 'busybox:v2' });
    journal.append('network', 'create', 'n1', { name: 'appnet', type: 'bridge' });
    const actions = (filters: Record<string, string[]>) =>
      journal.list({ filters }).map((e) => `${e.Type}/${e.Action}`);
    assert.deepEqual(actions({}), ['container/create', 'container/start', 'image/tag', 'network/create']);
    assert.deepEqual(actions({ type: ['image', 'network'] }), ['image/tag', 'network/create']);
    assert.deepEqual(actions({ container: ['web'], event: ['start'] }), ['container/start']);
    assert.deepEqual(actions({ image: ['busybox'] }), ['container/create', 'container/start']);
    assert.deepEqual(actions({ label: ['tier=front'], event: ['create'] }), ['container/create']);
    assert.deepEqual(actions({ network: ['appnet'] }), ['network/create']);
  });

  it('refuses an unknown filter key, naming it', () => {
    assert.throws(() => checkEventFilters({ colour: ['red'] }), /Invalid filter 'colour'/);
  });

  it('keeps a bounded number of events', () => {
    const insert = db.transaction(() => {
      for (let i = 0; i < JOURNAL_LIMIT + 200; i++) journal.append('volume', 'create', `v${i}`);
    });
    insert();
    const kept = journal.list({ filters: { type: ['volume'] } });
    assert.ok(kept.length <= JOURNAL_LIMIT, `${kept.length} kept`);
    assert.ok(kept.length >= JOURNAL_LIMIT - 100, `${kept.length} kept`);
    assert.equal(kept.at(-1)!.Actor.ID, `v${JOURNAL_LIMIT + 199}`);
  });
});
