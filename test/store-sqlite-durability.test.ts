// The SQLite datastore keeps every acknowledged write through a kill -9, and its files stay
// bounded under churn.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openSqliteStore } from '../src/cluster/store/sqlite/sqlite-store.js';
import { repoRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

let box: Sandbox;
before(async () => {
  box = await sandbox(undefined);
});
after(() => box.cleanup());

test('kill -9 during a stream of writes loses no acknowledged write', async () => {
  const db = join(box.dir, 'kill.db');
  const script = `
    import { openSqliteStore } from ${JSON.stringify(join(repoRoot, 'src/cluster/store/sqlite/sqlite-store.ts'))};
    const s = openSqliteStore(${JSON.stringify(db)});
    for (let i = 0; ; i++) { await s.create('/k/' + i, 'v' + i); process.stdout.write(i + '\\n'); }
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot,
  });
  let acked = -1;
  let buf = '';
  child.stdout.on('data', (b: Buffer) => {
    buf += b.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) acked = Number(l);
  });
  await new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (acked >= 300) {
        clearInterval(t);
        child.kill('SIGKILL');
        resolve();
      }
    }, 10);
  });
  await new Promise((r) => child.once('exit', r));
  const s = openSqliteStore(db);
  for (let i = 0; i <= acked; i++)
    assert.equal((await s.get(`/k/${i}`))?.value, `v${i}`, `acknowledged write ${i} lost`);
  await s.close();
});

test('10,000 updates of one object keep the database and its WAL bounded', async () => {
  const path = join(box.dir, 'churn.db');
  const s = openSqliteStore(path, { historyWindow: 1000, maintenanceEvery: 1000 });
  let kv = await s.create('/churn', 'x'.repeat(1000));
  for (let i = 0; i < 10_000; i++) {
    kv = await s.update('/churn', `${i}`.padEnd(1000, 'y'), kv.modRevision);
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 50));
  const size = statSync(path).size;
  let wal = 0;
  try {
    wal = statSync(`${path}-wal`).size;
  } catch {
    /* no WAL file at all */
  }
  await s.close();
  // 10,000 revisions of 1 kB would be >10 MB unbounded; the window keeps ~1,000.
  assert.ok(size < 4 * 1024 * 1024, `database is ${size} bytes`);
  assert.ok(wal < 9 * 1024 * 1024, `WAL is ${wal} bytes`);
});
