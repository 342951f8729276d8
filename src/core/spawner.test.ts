import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Spawner } from './spawner.js';

test('when the helper process dies, its commands fail and the next command starts a new one', async () => {
  const s = new Spawner();
  try {
    // The command kills its own parent: the helper.
    await assert.rejects(s.run('sh', ['-c', 'kill -9 $PPID; sleep 1']).outcome, /helper process .* exited/);
    const o = await s.run('echo', ['again']).outcome;
    assert.equal(o.stdout.toString(), 'again\n');
  } finally {
    s.close();
  }
});

test('the helper does not keep its parent alive when idle', async () => {
  // A child Node process that uses a Spawner once must exit by itself.
  const { run } = await import('./exec.js');
  const src = `
    const { Spawner } = await import(${JSON.stringify(new URL('./spawner.ts', import.meta.url).href)});
    const s = new Spawner();
    const o = await s.run('echo', ['x']).outcome;
    process.stdout.write(o.stdout);
  `;
  const r = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', src], {
    timeoutMs: 20_000,
  });
  assert.equal(r.stdout, 'x\n');
});

test('a daemon reports its first line on fd 3 and is let go, in a session of its own, while it runs', async () => {
  const s = new Spawner();
  let pid = 0;
  try {
    // It reports its pid, then goes on running (as conmon does once the container is created).
    const o = await s.run('sh', ['-c', 'echo $$ >&3; exec 3>&-; exec sleep 600'], { daemon: true }).outcome;
    pid = Number(o.line);
    assert.ok(pid > 0, `line ${JSON.stringify(o.line)}`);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const session = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
    assert.equal(session, pid);
  } finally {
    if (pid) process.kill(pid, 'SIGKILL');
    s.close();
  }
});

test('a daemon that closes fd 3 without a line is reported with its stderr', async () => {
  const s = new Spawner();
  try {
    const o = await s.run('sh', ['-c', 'echo cannot create >&2; exit 1'], { daemon: true }).outcome;
    assert.equal(o.line, undefined);
    assert.equal(o.stderr.toString(), 'cannot create\n');
  } finally {
    s.close();
  }
});
