import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, constants, existsSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { run } from '../../core/exec.js';
import { releaseCrunExecFifo, releaseExecFifo } from './exec-fifo.js';

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

describe('releaseCrunExecFifo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-crun-fifo-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the zero byte the init reads and removes the FIFO; false without a reader or a FIFO', async () => {
    const fifo = join(dir, 'exec.fifo');
    await run('mkfifo', [fifo]);
    // Nobody reads it: the init died.
    assert.equal(releaseCrunExecFifo(fifo), false);
    assert.ok(existsSync(fifo));
    // The init's end, as crun's create leaves it open for the init.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      assert.equal(releaseCrunExecFifo(fifo), true);
      assert.ok(!existsSync(fifo));
      const b = Buffer.alloc(2);
      assert.equal(readSync(reader, b), 1);
      assert.equal(b[0], 0);
    } finally {
      closeSync(reader);
    }
    assert.equal(releaseCrunExecFifo(fifo), false);
  });
});
