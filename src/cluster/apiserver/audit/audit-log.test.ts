import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AuditLog } from './audit-log.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('events are queued without waiting and written in order as JSON lines (0600)', async (t) => {
  const path = join(tempDir(t), 'sub', 'audit.log');
  const log = new AuditLog({ target: { path } });
  for (let i = 0; i < 1000; i++) log.write({ i });
  await log.close();
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as { i: number }).i),
    [...Array(1000).keys()],
  );
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

test('rotation by size keeps maxBackups files, newest first, and drops ones past maxAge', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'audit.log');
  // A backup from long ago, in the rotated files' naming: maxAge removes it.
  writeFileSync(join(dir, 'audit-2020-01-01T00-00-00.000.log'), 'old\n');
  const log = new AuditLog({ target: { path }, maxSizeMB: 1, maxBackups: 2, maxAgeDays: 30 });
  const big = 'x'.repeat(300 * 1024);
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 4; i++) log.write({ round, i, big });
    await log.flush();
  }
  await log.close();
  const files = readdirSync(dir).sort();
  const backups = files.filter((f) => f !== 'audit.log');
  assert.equal(backups.length, 2, files.join(' '));
  assert.ok(!files.includes('audit-2020-01-01T00-00-00.000.log'));
  for (const f of files) assert.ok(statSync(join(dir, f)).size <= 1024 * 1024 + 400 * 1024, f);
  const last = readFileSync(path, 'utf8').trim().split('\n').pop() as string;
  assert.equal((JSON.parse(last) as { round: number }).round, 4);
});

test('a write that fails is reported once and never throws at the caller', async (t) => {
  const dir = tempDir(t);
  const errors: string[] = [];
  // A directory where the file should be: every open fails.
  const log = new AuditLog({ target: { path: dir } }, (e) => errors.push(e.message));
  log.write({ a: 1 });
  log.write({ a: 2 });
  await log.close();
  assert.equal(errors.length, 1);
});
