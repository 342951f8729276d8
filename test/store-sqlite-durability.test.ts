// The SQLite datastore keeps every acknowledged write through a kill -9, its files stay
// bounded under churn, a damaged WAL or database stops `berth server` with a message instead
// of serving a shortened or broken history, and the data dir is closed to other users.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  lstatSync,
  openSync,
  readdirSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openSqliteStore } from '../src/cluster/store/sqlite/sqlite-store.js';
import { run } from '../src/core/exec.js';
import { startCluster, type TestCluster } from './helpers/cluster.js';
import { berthBin, repoRoot, type Sandbox, sandbox } from './helpers/sandbox.js';
import { until } from './helpers/until.js';

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

test('an open store that has not written does not keep the process alive', async () => {
  // A start that fails on its first read leaves the store open; the process must exit, not hang.
  const script = `
    import { openSqliteStore } from ${JSON.stringify(join(repoRoot, 'src/cluster/store/sqlite/sqlite-store.ts'))};
    const s = openSqliteStore(${JSON.stringify(join(box.dir, 'idle.db'))});
    await s.list('/registry/');
  `;
  const r = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    check: false,
    timeoutMs: 60_000,
    cwd: repoRoot,
  });
  assert.equal(r.code, 0, r.stderr);
});

test('10,000 updates of one object keep the database and its WAL bounded', async () => {
  const path = join(box.dir, 'churn.db');
  const s = openSqliteStore(path, { historyWindow: 1000, maintenanceEvery: 1000 });
  let kv = await s.create('/churn', 'x'.repeat(1000));
  for (let i = 0; i < 10_000; i++) {
    kv = await s.update('/churn', `${i}`.padEnd(1000, 'y'), kv.modRevision);
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  // 10,000 revisions of 1 kB would be >10 MB unbounded; the window keeps ~1,000. The last
  // maintenance pass may finish after the last update has returned.
  let size = 0;
  let wal = 0;
  await until(
    () => `database is ${size} bytes, WAL is ${wal} bytes`,
    async () => {
      size = statSync(path).size;
      wal = existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0;
      return size < 4 * 1024 * 1024 && wal < 9 * 1024 * 1024;
    },
  );
  await s.close();
});

/** Overwrites `bytes.length` bytes of `path` at `offset`. */
function scribble(path: string, offset: number, bytes = Buffer.from('deadbeefdeadbeef', 'hex')): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, bytes, 0, bytes.length, offset);
  closeSync(fd);
}

async function createConfigMaps(c: TestCluster, names: string[]): Promise<void> {
  for (const n of names) {
    const r = await c.kubectl(['create', 'configmap', n, '--from-literal=k=v']);
    assert.equal(r.code, 0, r.stderr);
  }
}

/** Runs the server on its data dir once more; a start that hangs fails the test by its timeout. */
const startExpectingFailure = (c: TestCluster) =>
  run(berthBin, c.serverArgs, { check: false, timeoutMs: 60_000 });

test('a damaged WAL after kill -9 stops the server instead of losing acknowledged writes', async (t) => {
  const c = await startCluster(t);
  const names = Array.from({ length: 30 }, (_, i) => `acked-${i}`);
  await createConfigMaps(c, names);
  await c.stop('SIGKILL');
  // Damage a frame in the middle of the WAL (32-byte header, frames of 24 + 4096 bytes):
  // SQLite's checksums make it ignore that frame and every later one.
  const wal = join(c.dataDir, 'db', 'state.db-wal');
  const frames = Math.floor((statSync(wal).size - 32) / (24 + 4096));
  assert.ok(frames > 10, `WAL has ${frames} frames`);
  scribble(wal, 32 + Math.floor(frames / 2) * (24 + 4096) + 24 + 200);

  const r = await startExpectingFailure(c);
  assert.notEqual(r.code, 0, r.stdout);
  assert.match(r.stderr, /ends at revision \d+, but revision \d+ was acknowledged/);
  assert.match(r.stderr, /--datastore-accept-data-loss/);
  assert.doesNotMatch(r.stdout, /cluster is ready/);

  // Accepting the loss serves what is left, and new revisions come after every one handed out.
  const acked = Number(/but revision (\d+) was acknowledged/.exec(r.stderr)![1]);
  await c.start(['--datastore-accept-data-loss']);
  const created = await c.kubectl([
    'create',
    'configmap',
    'after-loss',
    '-o',
    'jsonpath={.metadata.resourceVersion}',
  ]);
  assert.equal(created.code, 0, created.stderr);
  assert.ok(Number(created.stdout) > acked, `resourceVersion ${created.stdout} reuses one <= ${acked}`);
  // History from before the loss is gone: a client resuming from it must list again.
  const stale = await c.kubectl([
    'get',
    '--raw',
    `/api/v1/namespaces/default/configmaps?resourceVersion=${acked - 1}&resourceVersionMatch=Exact`,
  ]);
  assert.notEqual(stale.code, 0, stale.stdout);
  assert.match(stale.stderr, /Expired|too old|Gone/i, stale.stderr);
});

test('a damaged database file stops the server promptly, naming the file', async (t) => {
  const c = await startCluster(t);
  await createConfigMaps(c, ['a', 'b', 'c']);
  // A clean stop checkpoints the WAL, so everything is in the main file.
  await c.stop('SIGTERM');
  const db = join(c.dataDir, 'db', 'state.db');
  // The b-tree page headers of the first tables (page 1 holds the schema).
  for (const page of [1, 2, 3]) scribble(db, page * 4096);

  const r = await startExpectingFailure(c);
  assert.notEqual(r.code, 0, r.stdout);
  assert.ok(r.stderr.includes(`The datastore file ${db} is damaged`), r.stderr);
  assert.match(r.stderr, /restore .* from a backup/);
});

test('the data dir is 0700 and its files 0600 after a start, even when they were wide open', async (t) => {
  const c = await startCluster(t);
  await createConfigMaps(c, ['x']);
  await c.stop('SIGKILL');
  const walk = (p: string, visit: (p: string, dir: boolean) => void): void => {
    const dir = lstatSync(p).isDirectory();
    visit(p, dir);
    if (dir) for (const n of readdirSync(p)) walk(join(p, n), visit);
  };
  walk(c.dataDir, (p, dir) => chmodSync(p, dir ? 0o777 : 0o666));
  await c.start();
  const wrong: string[] = [];
  const seen = new Set<string>();
  walk(c.dataDir, (p, dir) => {
    seen.add(p.slice(c.dataDir.length + 1));
    const mode = lstatSync(p).mode & 0o777;
    if (mode !== (dir ? 0o700 : 0o600)) wrong.push(`${p} ${mode.toString(8)}`);
  });
  assert.deepEqual(wrong, []);
  // The walk covered what holds secrets.
  for (const f of ['db/state.db', 'db/state.db-wal', 'db/state.db.acked', 'tls/ca.key', 'kubeconfig.yaml'])
    assert.ok(seen.has(f), `${f} missing: ${[...seen].join(' ')}`);
});
