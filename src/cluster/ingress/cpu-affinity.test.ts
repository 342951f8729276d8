import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { allowedCpus, helperAffinity, parseCpuList } from './cpu-affinity.js';

test('CPU lists as the kernel prints them', () => {
  assert.deepEqual(parseCpuList('0-1'), [0, 1]);
  assert.deepEqual(parseCpuList('0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
  assert.deepEqual(parseCpuList('5'), [5]);
  for (const bad of ['', 'x', '3-1', '1,,2', '0-']) assert.deepEqual(parseCpuList(bad), [], bad);
});

test("a process's CPUs from its status file", () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpu-affinity-'));
  try {
    const status = join(dir, 'status');
    writeFileSync(status, 'Name:\tnode\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\nMems_allowed:\t1\n');
    assert.deepEqual(allowedCpus(status), [0, 1]);
    assert.deepEqual(allowedCpus(join(dir, 'missing')), []);
    assert.ok(allowedCpus().length >= 1, 'this process may run somewhere');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('helpers pinned one per CPU, or why not', () => {
  assert.deepEqual(helperAffinity(2, { cpus: [0, 1, 2, 3], taskset: '/usr/bin/taskset' }), {
    taskset: '/usr/bin/taskset',
    cpus: [0, 1],
  });
  assert.deepEqual(helperAffinity(2, { cpus: [4, 6], taskset: '/t' }), { taskset: '/t', cpus: [4, 6] });
  assert.deepEqual(helperAffinity(1, { cpus: [0, 1], taskset: '/t' }), { why: 'one helper' });
  assert.deepEqual(helperAffinity(3, { cpus: [0, 1], taskset: '/t' }), { why: '3 helpers for 2 CPUs' });
  assert.deepEqual(helperAffinity(2, { cpus: [0], taskset: '/t' }), { why: 'this process may use 1 CPU(s)' });
  assert.deepEqual(helperAffinity(2, { cpus: [0, 1], taskset: undefined }), {
    why: 'taskset (util-linux) is not on the PATH',
  });
});
