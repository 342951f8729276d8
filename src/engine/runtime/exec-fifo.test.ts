import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { run } from '../../core/exec.js';
import { releaseExecFifo } from './exec-fifo.js';

describe('releaseExecFifo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-fifo-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the init's byte once it opens the FIFO for writing, and removes the FIFO", async () => {
    const fifo = join(dir, 'a.fifo');
    await run('mkfifo', [fifo]);
    // As runc's init: a blocking open for writing (which waits for a reader), then one byte.
    const init = spawn('sh', ['-c', 'printf 0 > "$1"; exec sleep 30', 'sh', fifo], { stdio: 'ignore' });
    try {
      assert.equal(await releaseExecFifo(fifo, init.pid!), true);
      assert.equal(existsSync(fifo), false);
    } finally {
      init.kill('SIGKILL');
    }
  });

  it('throws when the init process ends without writing, and says false when there is no FIFO', async () => {
    const fifo = join(dir, 'b.fifo');
    await run('mkfifo', [fifo]);
    const init = spawn('true', [], { stdio: 'ignore' });
    await new Promise((r) => init.once('exit', r));
    await assert.rejects(releaseExecFifo(fifo, init.pid!), /ended before it was started/);
    assert.equal(await releaseExecFifo(join(dir, 'none.fifo'), init.pid!), false);
  });
});
