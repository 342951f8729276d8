import assert from 'node:assert/strict';
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
