import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensurePodCgroup } from './cgroups.js';

// A cgroup v1 tree stands in as plain folders: what was written is what the files hold.
describe('ensurePodCgroup (v1 layout in a folder)', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-cgroups-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const file = (...p: string[]) => join(root, ...p);

  it("writes a new cgroup's values only where they differ from the kernel's defaults", () => {
    ensurePodCgroup('/kubepods/besteffort/poda', { cpuShares: 2 }, root);
    assert.equal(readFileSync(file('cpu', 'kubepods', 'besteffort', 'poda', 'cpu.shares'), 'utf8'), '2');
    assert.equal(readFileSync(file('cpu', 'kubepods', 'besteffort', 'cpu.shares'), 'utf8'), '2');
    for (const [c, f] of [
      ['cpu', 'cpu.cfs_quota_us'],
      ['cpu', 'cpu.cfs_period_us'],
      ['memory', 'memory.limit_in_bytes'],
      ['pids', 'pids.max'],
    ] as const)
      assert.equal(existsSync(file(c, 'kubepods', 'besteffort', 'poda', f)), false, `${f} left as made`);
    for (const c of ['cpu', 'cpuacct', 'memory', 'pids'])
      assert.ok(existsSync(file(c, 'kubepods', 'besteffort', 'poda')));
  });

  it('writes every value of a cgroup that was already there', () => {
    ensurePodCgroup('/kubepods/podb', { cpuShares: 512, cpuQuota: 50_000, cpuPeriod: 100_000 }, root);
    ensurePodCgroup('/kubepods/podb', { cpuShares: 1024 }, root);
    const read = (c: string, f: string) => readFileSync(file(c, 'kubepods', 'podb', f), 'utf8');
    assert.equal(read('cpu', 'cpu.shares'), '1024');
    assert.equal(read('cpu', 'cpu.cfs_quota_us'), '-1', 'the old quota is lifted');
    assert.equal(read('memory', 'memory.limit_in_bytes'), '-1');
    assert.equal(read('pids', 'pids.max'), 'max');
  });
});
