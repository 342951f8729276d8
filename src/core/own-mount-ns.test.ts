import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isCgroupHybrid } from './cgroup-version.js';
import { run, runCommandsThroughHelper, stopCommandHelper } from './exec.js';
import type { OwnMountNamespace } from './own-mount-ns.js';
import { Spawner } from './spawner.js';

const root = process.getuid?.() === 0;
const V2 = ' /sys/fs/cgroup/unified ';

/** A tmpfs mount in the namespace only, and the v2 hierarchy hidden. */
function request(dir: string): OwnMountNamespace {
  return {
    hideCgroupV2: true,
    mounts: [{ source: 'berth-test', target: dir, fstype: 'tmpfs', data: 'size=1m,mode=0700' }],
  };
}

/** The program: it writes a file on the mount and prints its mount table. */
const probe = (dir: string) => ['sh', ['-c', `echo in > ${dir}/f && cat /proc/self/mountinfo`]] as const;

function checkOutcome(mountinfo: string, dir: string) {
  assert.match(mountinfo, new RegExp(` ${dir} .* - tmpfs berth-test `));
  assert.doesNotMatch(mountinfo, new RegExp(V2));
  // Nothing of it reached this process's namespace: the file went with the tmpfs.
  assert.ok(!existsSync(join(dir, 'f')));
  assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(` ${dir} `));
  if (isCgroupHybrid()) assert.match(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(V2));
}

test('the command helper runs a program in a mount namespace of its own', { skip: !root }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-own-ns-'));
  const s = new Spawner();
  try {
    const [file, args] = probe(dir);
    const o = await s.run(file, args, { mountNamespace: request(dir) }).outcome;
    assert.equal(o.code, 0, o.stderr.toString());
    checkOutcome(o.stdout.toString(), dir);
  } finally {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a process without the helper runs it so too, through perl', { skip: !root }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-own-ns-'));
  try {
    const [file, args] = probe(dir);
    const r = await run(file, [...args], { mountNamespace: request(dir) });
    checkOutcome(r.stdout, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a step that fails names itself and the mount, with either way of starting', {
  skip: !root,
}, async () => {
  const missing = join(tmpdir(), `berth-no-such-dir-${process.pid}`);
  const ns: OwnMountNamespace = { mounts: [{ source: 'x', target: missing, fstype: 'tmpfs', data: '' }] };
  await assert.rejects(run('true', [], { mountNamespace: ns }), (e: Error) => {
    assert.match(e.message, new RegExp(`mount tmpfs on ${missing}: No such file or directory`));
    return true;
  });
  runCommandsThroughHelper();
  try {
    await assert.rejects(run('true', [], { mountNamespace: ns }), (e: Error) => {
      assert.match(e.message, new RegExp(`EMOUNTNS: mount tmpfs on ${missing}: No such file or directory`));
      return true;
    });
  } finally {
    stopCommandHelper();
  }
});
