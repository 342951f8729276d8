// The foundation's own checks: the CLI answers, the test helpers isolate and clean up.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from '../src/core/exec.js';
import { busyboxRootfsTar } from './helpers/busybox-image.js';
import { berthBin, isRoot, sandbox } from './helpers/sandbox.js';
import { until } from './helpers/until.js';

test('bin/berth answers --version and --help from any folder', async () => {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'));
  const v = await run(berthBin, ['--version'], { cwd: '/' });
  assert.equal(v.stdout.trim(), pkg.version);
  const h = await run(berthBin, ['--help'], { cwd: '/' });
  assert.match(h.stdout, /Usage: berth/);
});

test('version and info take json or a Go template for --format, as docker version and docker info do', {
  skip: !isRoot,
}, async (t) => {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'));
  assert.equal((await run(berthBin, ['version', '-f', '{{.Version}}'])).stdout, `${pkg.version}\n`);
  assert.equal(
    JSON.parse((await run(berthBin, ['version', '--format', 'json'])).stdout).Version,
    pkg.version,
  );
  const box = await sandbox(t);
  try {
    assert.equal((await box.berth(['info', '-f', 'driver={{.Driver}}'])).stdout, 'driver=overlay\n');
    assert.equal(JSON.parse((await box.berth(['info', '--format', 'json'])).stdout).Driver, 'overlay');
  } finally {
    await box.cleanup();
  }
});

test('bin/berth starts Node without reading NODE_EXTRA_CA_CERTS (Berth reads it where a TLS client needs it)', async () => {
  // Node would warn here about a file it cannot read; only the start-up reads it.
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: '/nonexistent/berth-extra-ca.pem' };
  const h = await run(berthBin, ['--help'], { env });
  assert.match(h.stdout, /Usage: berth/);
  assert.doesNotMatch(h.stderr, /extra certs/i);
});

test('a command that succeeds leaves a code cache of its own beside the bundle', {
  skip: !isRoot,
}, async (t) => {
  const dist = join(import.meta.dirname, '..', 'dist');
  const psCache = (f: string) => /^berth\.script\.js\.\d+-\d+-\d+\.ps\.cache$/.test(f);
  for (const f of readdirSync(dist).filter(psCache)) rmSync(join(dist, f), { force: true });
  const box = await sandbox(t);
  try {
    await box.berth(['ps', '-a']);
    assert.ok(readdirSync(dist).some(psCache));
  } finally {
    await box.cleanup();
  }
});

test('an unknown command exits 125 with a message naming it', async () => {
  const r = await run(berthBin, ['no-such-command'], { check: false });
  assert.equal(r.code, 125);
  assert.match(r.stderr, /no-such-command/);
});

test('the busybox fixture is a rootfs tarball with a shell', async () => {
  const tar = await busyboxRootfsTar();
  const r = await run('tar', ['-tf', tar]);
  assert.ok(r.stdout.includes('./bin/busybox'));
  assert.ok(r.stdout.includes('./bin/sh'));
});

test('a sandbox with a netns is removed with its mounts and processes', { skip: !isRoot }, async () => {
  const box = await sandbox(undefined, { netns: true });
  assert.ok(box.netns);
  const inside = await box.exec('ip', ['-o', 'link']);
  assert.match(inside.stdout, /lo:/);
  assert.doesNotMatch(inside.stdout, /eth0|ens/);
  await run('mkdir', ['-p', join(box.dir, 'm')]);
  await run('mount', ['-t', 'tmpfs', 'tmpfs', join(box.dir, 'm')]);
  const child = box.spawn('sleep', ['600']);
  await box.cleanup();
  assert.ok(!existsSync(box.dir));
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(box.dir));
  const ns = await run('ip', ['netns', 'list']);
  assert.ok(!ns.stdout.includes(box.netns!));
  // The child's exit reaches this process as an event after the kill.
  await until('the sandbox child is gone', async () => child.exitCode !== null || child.signalCode !== null);
});
