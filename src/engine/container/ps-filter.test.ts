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
    assert.throws(() => psFilter(['colour=red']), { message: "Invalid filter 'colour'" });
    assert.throws(() => psFilter(['status=bogus']), { message: "Invalid filter 'status=bogus'" });
  });

  it('matches network, volume, health, before and since as Docker does', () => {
    const r = rec({
      createdAt: '2026-01-01T00:00:02.000Z',
      config: {
        ...rec({}).config,
        network: 'front',
        extraNetworks: [{ name: 'back', aliases: [] }],
        mounts: [{ type: 'volume', source: 'data', destination: '/data', readOnly: false }],
      },
    });
    assert.ok(psFilter(['network=front'])(r));
    assert.ok(psFilter(['network=back'])(r));
    assert.ok(!psFilter(['network=bridge'])(r));
    assert.ok(psFilter(['volume=data'])(r));
    assert.ok(psFilter(['volume=/data'])(r));
    assert.ok(!psFilter(['volume=other'])(r));
    assert.ok(psFilter(['health=none'])(r));
    assert.ok(psFilter(['health=healthy'], { health: () => 'healthy' })(r));
    assert.throws(() => psFilter(['health=fine']), /Unrecognised filter value for health: fine/);
    const older = rec({ createdAt: '2026-01-01T00:00:01.000Z' });
    const find = (ref: string) => (ref === 'old' ? older : undefined);
    assert.ok(psFilter(['since=old'], { find })(r));
    assert.ok(!psFilter(['before=old'], { find })(r));
    assert.throws(() => psFilter(['since=gone'], { find }), /No such container: gone/);
  });
});
