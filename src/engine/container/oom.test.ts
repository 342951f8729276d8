import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cgroupOomKills, wasOomKilled } from './oom.js';

describe('OOM kills', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-oom-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = join(dir, 'bundle');
  mkdirSync(bundle);

  it('reads the count from a v1 memory cgroup and a v2 one', () => {
    const v1 = join(dir, 'v1');
    mkdirSync(join(v1, 'memory', 'berth', 'c1'), { recursive: true });
    writeFileSync(
      join(v1, 'memory', 'berth', 'c1', 'memory.oom_control'),
      'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
    );
    assert.equal(cgroupOomKills('/berth/c1', v1), 2);
    const v2 = join(dir, 'v2');
    mkdirSync(join(v2, 'berth', 'c1'), { recursive: true });
    writeFileSync(join(v2, 'cgroup.controllers'), 'memory pids\n');
    writeFileSync(join(v2, 'berth', 'c1', 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    assert.equal(cgroupOomKills('/berth/c1', v2), 1);
    assert.equal(cgroupOomKills('/berth/gone', v2), 0);
  });

  it("counts a SIGKILL as an OOM kill only when the cgroup recorded one, or conmon's file says so", () => {
    const v1 = join(dir, 'v1');
    assert.equal(wasOomKilled(bundle, 137, '/berth/c1', v1), true);
    assert.equal(wasOomKilled(bundle, 1, '/berth/c1', v1), false);
    assert.equal(wasOomKilled(bundle, 137, '/berth/none', v1), false);
    writeFileSync(join(bundle, 'oom'), '');
    assert.equal(wasOomKilled(bundle, 1, '/berth/none', v1), true);
  });
});
