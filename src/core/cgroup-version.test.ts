import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isCgroupV2 } from './cgroup-version.js';

test('a root with cgroup.controllers is v2; one without (v1 or hybrid) is not', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'cgroup-version-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  assert.equal(isCgroupV2(root), false);
  writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory pids\n');
  assert.equal(isCgroupV2(root), true);
});
