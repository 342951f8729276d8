// The idle sweep: members are told once idle for the limit; activity and leaving stop it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type IdleMember, IdleSweep } from './idle-sweep.js';

const member = () => {
  const m = { idleTicks: 5, idle: 0, onIdle: () => void m.idle++ } satisfies IdleMember & { idle: number };
  return m;
};

test('a member is told after the limit of ticks without activity, and each tick after until it acts', () => {
  const sweep = new IdleSweep(1000, 3);
  const [a, b] = [member(), member()];
  sweep.add(a);
  sweep.add(b);
  assert.equal(a.idleTicks, 0, 'joining counts as activity');
  sweep.sweep();
  sweep.sweep();
  b.idleTicks = 0;
  assert.equal(a.idle, 0);
  sweep.sweep();
  assert.deepEqual([a.idle, b.idle], [1, 0]);
  sweep.sweep();
  assert.deepEqual([a.idle, b.idle], [2, 0]);
  sweep.sweep();
  assert.deepEqual([a.idle, b.idle], [3, 1]);
  sweep.close();
});

test('a member that left is not told', () => {
  const sweep = new IdleSweep(1000, 1);
  const a = member();
  sweep.add(a);
  sweep.delete(a);
  sweep.sweep();
  assert.equal(a.idle, 0);
  sweep.close();
});
