import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorCode } from './errors.js';
import { run } from './exec.js';

test('run captures stdout and passes input', async () => {
  const r = await run('cat', [], { input: 'hello' });
  assert.equal(r.stdout, 'hello');
  assert.equal(r.code, 0);
});

test('a failing program carries its stderr in the error', async () => {
  await assert.rejects(run('sh', ['-c', 'echo boom >&2; exit 3']), (e: Error) => {
    assert.match(e.message, /exit status 3/);
    assert.match(e.message, /boom/);
    return true;
  });
});

test('check=false returns the status', async () => {
  const r = await run('sh', ['-c', 'exit 4'], { check: false });
  assert.equal(r.code, 4);
});

test('a missing program is Unavailable', async () => {
  await assert.rejects(run('/nonexistent/prog', []), (e) => errorCode(e) === 'Unavailable');
});

test('timeouts kill the child', async () => {
  await assert.rejects(run('sleep', ['5'], { timeoutMs: 100 }), (e) => errorCode(e) === 'DeadlineExceeded');
});

test('arguments are not interpreted by a shell', async () => {
  const r = await run('echo', ['$HOME; rm -rf /']);
  assert.equal(r.stdout, '$HOME; rm -rf /\n');
});
