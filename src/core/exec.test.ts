import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { errorCode } from './errors.js';
import { run, runCommandsThroughHelper, stopCommandHelper } from './exec.js';

// Every behaviour of run() holds the same whether this process starts the program or the
// helper process of a long-lived server does.
for (const mode of ['in this process', 'through the helper process'] as const) {
  describe(`run, ${mode}`, () => {
    if (mode !== 'in this process') {
      before(() => runCommandsThroughHelper());
      after(() => stopCommandHelper());
    }

    test('captures stdout and passes input', async () => {
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
      await assert.rejects(
        run('sleep', ['5'], { timeoutMs: 100 }),
        (e) => errorCode(e) === 'DeadlineExceeded',
      );
    });

    test('an abort cancels the child', async () => {
      const ac = new AbortController();
      const p = run('sleep', ['5'], { signal: ac.signal });
      setTimeout(() => ac.abort(), 50);
      await assert.rejects(p, (e) => errorCode(e) === 'Canceled');
    });

    test('arguments are not interpreted by a shell', async () => {
      const r = await run('echo', ['$HOME; rm -rf /']);
      assert.equal(r.stdout, '$HOME; rm -rf /\n');
    });

    test('cwd, env and binary input reach the program', async () => {
      const r = await run('sh', ['-c', 'pwd; echo "$X"; od -An -tx1 | tr -d " \\n"'], {
        cwd: '/tmp',
        env: { X: 'y', PATH: process.env.PATH },
        input: Buffer.from([0, 255, 10]),
      });
      assert.equal(r.stdout, '/tmp\ny\n00ff0a');
    });

    test('a program found on PATH keeps its name as argv[0]; an env without PATH searches the default', async () => {
      assert.equal((await run('sh', ['-c', 'echo "$0"'])).stdout, 'sh\n');
      const r = await run('sh', ['-c', 'echo "$0"'], { env: { X: 'y' } });
      assert.equal(r.stdout, 'sh\n');
      await assert.rejects(run('nosuch-berth-program', []), (e) => errorCode(e) === 'Unavailable');
    });

    test('many commands at once each get their own output', async () => {
      const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => run('echo', [String(i)])));
      assert.deepEqual(
        rs.map((r) => r.stdout),
        Array.from({ length: 30 }, (_, i) => `${i}\n`),
      );
    });
  });
}
