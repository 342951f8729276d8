import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultContainerConfig } from './config.js';
import { psFilter } from './ps-filter.js';
import { type ContainerRecord, createdRecord } from './store.js';

const rec = (over: Partial<ContainerRecord>): ContainerRecord => ({
  ...createdRecord(
    'ab'.repeat(32),
    'web-1',
    defaultContainerConfig({
      imageName: 'docker.io/library/busybox:latest',
      imageId: 'sha256:ff00',
      labels: { app: 'x' },
    }),
    'runc',
  ),
  state: 'running',
  pid: 1,
  createdAt: '',
  ...over,
});

describe('psFilter', () => {
  it('matches Docker keys, any value per key, all keys', () => {
    const r = rec({});
    assert.ok(psFilter(['name=web'])(r));
    assert.ok(psFilter(['status=exited', 'status=running'])(r));
    assert.ok(!psFilter(['status=running', 'label=app=y'])(r));
    assert.ok(psFilter(['label=app', 'ancestor=busybox', 'id=abab'])(r));
    // Labels must all match (Docker's rule), unlike other keys' values.
    assert.ok(!psFilter(['label=app', 'label=missing'])(r));
    assert.ok(psFilter(['exited=3'])(rec({ state: 'exited', exitCode: 3 })));
    assert.throws(() => psFilter(['colour=red']), /Invalid filter "colour=red"/);
  });
});
