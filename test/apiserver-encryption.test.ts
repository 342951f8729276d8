// Secrets at rest: with --secrets-encryption no Secret reaches the datastore's files in plain
// text, kubectl reads them decoded, and they read again after a key rotation and a kill -9.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from '../src/core/exec.js';
import { startCluster, type TestCluster } from './helpers/cluster.js';
import { berthBin } from './helpers/sandbox.js';

const plain = 'hunter2-plain-value-7d1f';

/** Every file under the datastore folder that holds `needle` (as it is, or base64). */
function filesHolding(dir: string, needle: string): string[] {
  const forms = [Buffer.from(needle), Buffer.from(Buffer.from(needle).toString('base64'))];
  const found: string[] = [];
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, name);
    if (!statSync(p).isFile()) continue;
    const bytes = readFileSync(p);
    if (forms.some((f) => bytes.includes(f))) found.push(p);
  }
  return found;
}

interface Status {
  enabled: boolean;
  activeKey: string;
  secrets: Record<string, number>;
  rewritten?: number;
}

async function secretsEncrypt(c: TestCluster, verb: 'status' | 'rotate'): Promise<Status> {
  const r = await run(berthBin, ['secrets-encrypt', verb, '--data-dir', c.dataDir, '-o', 'json'], {
    check: false,
  });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Status;
}

async function readPassword(c: TestCluster): Promise<string> {
  const r = await c.kubectl(['get', 'secret', 'db', '-o', 'jsonpath={.data.password}']);
  assert.equal(r.code, 0, r.stderr);
  return Buffer.from(r.stdout, 'base64').toString();
}

test('secrets encryption: nothing plain on disk; reads after rotate and restart', async (t) => {
  const c = await startCluster(t, { args: ['--secrets-encryption'] });
  const config = join(c.dataDir, 'cred', 'encryption-config.json');
  assert.equal(statSync(config).mode & 0o777, 0o600);
  const made = await c.kubectl(['create', 'secret', 'generic', 'db', `--from-literal=password=${plain}`]);
  assert.equal(made.code, 0, made.stderr);
  assert.equal(await readPassword(c), plain);
  const db = join(c.dataDir, 'db');
  assert.deepEqual(filesHolding(db, plain), []);

  const before = await secretsEncrypt(c, 'status');
  assert.equal(before.enabled, true);
  assert.match(before.activeKey, /^aescbc:/);
  assert.equal(before.secrets[before.activeKey], 1);

  // Only system:masters may see or rotate keys: a ServiceAccount gets a 403.
  const token = await c.kubectl(['create', 'token', 'default']);
  assert.equal(token.code, 0, token.stderr);
  const denied = await run('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '--cacert',
    join(c.dataDir, 'tls', 'ca.crt'),
    '-H',
    `Authorization: Bearer ${token.stdout.trim()}`,
    `https://127.0.0.1:${c.port}/berth/secrets-encryption`,
  ]);
  assert.equal(denied.stdout, '403');

  const after = await secretsEncrypt(c, 'rotate');
  assert.notEqual(after.activeKey, before.activeKey);
  assert.equal(after.rewritten, 1);
  assert.deepEqual(after.secrets, { [after.activeKey]: 1 });
  assert.ok(
    !readFileSync(config, 'utf8').includes(before.activeKey.split(':')[1] as string),
    'old key dropped',
  );
  assert.equal(await readPassword(c), plain);

  // Without the flag the server keeps its own configuration: the Secrets still read.
  await c.stop('SIGKILL');
  await c.start();
  assert.equal(await readPassword(c), plain);
  assert.deepEqual((await secretsEncrypt(c, 'status')).secrets, { [after.activeKey]: 1 });
  assert.deepEqual(filesHolding(db, plain), []);
});

test('secrets encryption: a bad --encryption-provider-config stops the start with its field', async (t) => {
  const c = await startCluster(t);
  await c.stop('SIGTERM');
  const file = join(c.box.dir, 'enc.yaml');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    file,
    'kind: EncryptionConfiguration\napiVersion: apiserver.config.k8s.io/v1\nresources:\n- resources: [secrets]\n  providers:\n  - aesgcm: {keys: [{name: k, secret: c2hvcnQ=}]}\n',
  );
  const r = await run(berthBin, [...c.serverArgs, '--encryption-provider-config', file], {
    check: false,
    timeoutMs: 30_000,
  });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /resources\[0\]\.providers\[0\]\.aesgcm\.keys\[0\] \("k"\) secret is 5 bytes/);
});
