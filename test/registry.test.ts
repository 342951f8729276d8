// Pull and push against the real docker-registry on loopback: anonymous, Basic auth, and
// interoperability with skopeo (digest-stable both ways).
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run } from '../src/core/exec.js';
import { type BearerProxy, startBearerProxy } from './helpers/bearer-proxy.js';
import { importBusybox } from './helpers/busybox-image.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';
import { until } from './helpers/until.js';

const hasSkopeo = (() => {
  try {
    statSync('/usr/bin/skopeo');
    return true;
  } catch {
    return false;
  }
})();

describe('registry', { skip: !isRoot }, () => {
  let box: Sandbox;
  let other: Sandbox;
  let reg: TestRegistry;
  let authReg: TestRegistry;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    box = await sandbox(undefined);
    other = await sandbox(undefined);
    reg = await startRegistry(box);
    authReg = await startRegistry(box, { user: 'alice', password: 's3cret' });
    env = { REGISTRY_AUTH_FILE: join(box.dir, 'auth.json') };
    await importBusybox(box, 'bb:1', ['--change', 'CMD ["sh"]']);
  });
  after(async () => {
    await other.cleanup();
    await box.cleanup();
  });
  const ok = (b: Sandbox, args: string[]) => b.ok(args, { env });

  test('push, then pull into another store: same image ID and digest', async () => {
    const ref = `${reg.host}/test/bb:1`;
    await ok(box, ['tag', 'bb:1', ref]);
    const pushed = (await ok(box, ['push', '-q', ref])).trim();
    assert.match(pushed, /^sha256:[a-f0-9]{64}$/);
    const id = (await ok(other, ['pull', '-q', ref])).trim();
    const [local] = JSON.parse(await ok(box, ['image', 'inspect', 'bb:1']));
    assert.equal(id, local.Id);
    const [pulled] = JSON.parse(await ok(other, ['image', 'inspect', ref]));
    assert.deepEqual(pulled.RepoDigests, [`${reg.host}/test/bb@${pushed}`]);
    // Pulling again reuses everything.
    const again = await other.berth(['pull', ref], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /Already exists/);
    // A second push skips every blob.
    const second = await box.berth(['push', ref], { env });
    assert.match(second.stderr, /Layer already exists/);
    const { resolveImage } = await import('../src/engine/image/resolve.js');
    const dirs = await (await resolveImage(other.root, ref)).lowerDirs();
    assert.ok(statSync(join(dirs[0]!, 'bin', 'busybox')).isFile());
  });

  test('an image pulled by digest only is listed under its repository with the tag <none>', async () => {
    // docker images after `docker pull REPO@sha256:...`: "REPO   <none>   ID ..." (the
    // repository comes from the digest reference; there is no tag).
    const digest = JSON.parse(await ok(box, ['image', 'inspect', 'bb:1']))[0].RepoDigests[0].split('@')[1];
    const third = await sandbox(undefined);
    try {
      await ok(third, ['pull', '-q', `${reg.host}/test/bb@${digest}`]);
      assert.equal(
        await ok(third, ['images', '--format', '{{.Repository}} {{.Tag}}']),
        `${reg.host}/test/bb <none>\n`,
      );
    } finally {
      await third.cleanup();
    }
  });

  test('push to another repository mounts blobs across repositories', async () => {
    const r = await box.berth(['push', 'bb:1', `${reg.host}/test/copy:1`], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Mounted from test\/bb/);
  });

  test('skopeo reads what Berth pushed, Berth pulls what skopeo copied', { skip: !hasSkopeo }, async () => {
    const pushed = JSON.parse(await ok(box, ['image', 'inspect', 'bb:1']))[0].RepoDigests[0].split('@')[1];
    const insp = JSON.parse(
      (await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/test/bb:1`])).stdout,
    );
    assert.equal(insp.Digest, pushed);
    await run('skopeo', [
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${reg.host}/test/bb:1`,
      `docker://${reg.host}/skopeo/made:2`,
    ]);
    const id = (await ok(other, ['pull', '-q', `${reg.host}/skopeo/made:2`])).trim();
    assert.equal(id, JSON.parse(await ok(box, ['image', 'inspect', 'bb:1']))[0].Id);
  });

  test('Basic auth: refused without login, wrong password refused, then works', async () => {
    const ref = `${authReg.host}/private/bb:1`;
    await ok(box, ['tag', 'bb:1', ref]);
    let r = await box.berth(['push', ref], { env });
    assert.equal(r.code, 125);
    assert.match(r.stderr, /authentication required/);
    r = await box.berth(['login', '-u', 'alice', '--password-stdin', authReg.host], {
      env,
      input: 'wrong\n',
    });
    assert.equal(r.code, 125);
    assert.match(r.stderr, /wrong user name or password/);
    r = await box.berth(['login', '-u', 'alice', '--password-stdin', authReg.host], {
      env,
      input: 's3cret\n',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Login Succeeded/);
    assert.equal(statSync(env.REGISTRY_AUTH_FILE!).mode & 0o777, 0o600);
    assert.doesNotMatch(r.stdout + r.stderr, /s3cret/);
    await ok(box, ['push', ref]);
    await ok(other, ['pull', ref]);
    await ok(box, ['logout', authReg.host]);
    r = await other.berth(['pull', ref], { env });
    assert.match(r.stderr, /authentication required/);
  });

  test('Bearer tokens: fetched from the challenge realm with credentials, cached per scope', async () => {
    const proxy: BearerProxy = await startBearerProxy(reg.host, { user: 'bob', password: 'tok-pw' });
    box.defer(() => proxy.close());
    const ref = `${proxy.host}/test/bb:1`;
    let r = await other.berth(['pull', ref], { env });
    assert.equal(r.code, 125);
    assert.match(r.stderr, /wrong user name or password|access denied|authentication required/);
    r = await other.berth(['login', '-u', 'bob', '--password-stdin', proxy.host], { env, input: 'tok-pw' });
    assert.equal(r.code, 0, r.stderr);
    const before = proxy.tokensIssued;
    const id = (await ok(other, ['pull', '-q', ref])).trim();
    assert.equal(id, JSON.parse(await ok(box, ['image', 'inspect', 'bb:1']))[0].Id);
    assert.equal(proxy.tokensIssued - before, 1, 'one token serves the whole pull');
    await ok(other, ['logout', proxy.host]);
  });

  test('a blob whose bytes do not match its digest is refused and nothing of it is stored', async () => {
    const proxy = await startBearerProxy(reg.host);
    box.defer(() => proxy.close());
    proxy.corruptBlobs = true;
    const fresh = await sandbox(undefined);
    try {
      const r = await fresh.berth(['pull', `${proxy.host}/test/bb:1`], { env });
      assert.equal(r.code, 125);
      assert.match(r.stderr, /Digest mismatch/);
      const { readdirSync } = await import('node:fs');
      assert.deepEqual(readdirSync(join(fresh.root, 'blobs', 'sha256')), []);
      assert.deepEqual(readdirSync(join(fresh.root, 'blobs', 'tmp')), []);
      assert.equal((await fresh.berth(['images', '-q'])).stdout.trim(), '');
    } finally {
      await fresh.cleanup();
    }
  });

  test('a pull killed with kill -9 halfway leaves no corrupt blob; the next pull completes', async () => {
    const proxy = await startBearerProxy(reg.host);
    box.defer(() => proxy.close());
    proxy.stallBlobs = true;
    const fresh = await sandbox(undefined);
    try {
      const { readdirSync } = await import('node:fs');
      const child = fresh.spawn(
        (await import('./helpers/sandbox.js')).berthBin,
        ['--root', fresh.root, '--runroot', fresh.runroot, 'pull', `${proxy.host}/test/bb:1`],
        { stdio: 'ignore', env: { ...fresh.env, ...env } },
      );
      // Wait until a download is under way (a temp file exists), then kill -9.
      await until(
        'a download under way',
        async () => readdirSync(join(fresh.root, 'blobs', 'tmp')).length > 0,
        10_000,
      );
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const { createHash } = await import('node:crypto');
      const { readFileSync } = await import('node:fs');
      for (const n of readdirSync(join(fresh.root, 'blobs', 'sha256'))) {
        const sum = createHash('sha256')
          .update(readFileSync(join(fresh.root, 'blobs', 'sha256', n)))
          .digest('hex');
        assert.equal(sum, n, 'every visible blob matches its name');
      }
      proxy.stallBlobs = false;
      const id = (await ok(fresh, ['pull', '-q', `${proxy.host}/test/bb:1`])).trim();
      assert.equal(id, JSON.parse(await ok(box, ['image', 'inspect', 'bb:1']))[0].Id);
      assert.deepEqual(readdirSync(join(fresh.root, 'blobs', 'tmp')), []);
    } finally {
      await fresh.cleanup();
    }
  });

  test('a pulled image of several layers runs on all of them', async () => {
    // A pull unpacks its layers in parallel and records their order afterwards: the container
    // must see the base layer's busybox and the top layer's file.
    const ref = `${reg.host}/test/two-layers:1`;
    await ok(box, [
      'run',
      '--name',
      'two-layers',
      '--network',
      'none',
      'bb:1',
      'sh',
      '-c',
      'echo on-top > /added',
    ]);
    await ok(box, ['commit', 'two-layers', ref]);
    await ok(box, ['rm', 'two-layers']);
    await ok(box, ['push', '-q', ref]);
    const fresh = await sandbox(undefined);
    try {
      await ok(fresh, ['pull', '-q', ref]);
      const out = await ok(fresh, ['run', '--rm', '--network', 'none', ref, 'cat', '/added']);
      assert.equal(out.trim(), 'on-top');
    } finally {
      await fresh.cleanup();
    }
  });

  test('run pulls a missing image first (--pull missing), and --pull never refuses', async () => {
    const fresh = await sandbox(undefined);
    try {
      let r = await fresh.berth(
        ['run', '--rm', '--network', 'none', '--pull', 'never', `${reg.host}/test/bb:1`, 'true'],
        { env },
      );
      assert.equal(r.code, 125);
      assert.match(r.stderr, /No such image|Unable to find/);
      r = await fresh.berth(
        ['run', '--rm', '--network', 'none', `${reg.host}/test/bb:1`, 'echo', 'pulled-and-ran'],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Unable to find image/);
      assert.equal(r.stdout.trim(), 'pulled-and-ran');
    } finally {
      await fresh.cleanup();
    }
  });

  test('errors name the reference: unknown tag, unknown repository, refused connection', async () => {
    let r = await other.berth(['pull', `${reg.host}/test/bb:nope`], { env });
    assert.equal(r.code, 125);
    assert.match(r.stderr, new RegExp(`Cannot pull "${reg.host}/test/bb:nope": not found`));
    r = await other.berth(['pull', '127.0.0.1:1/x/y:1'], { env });
    assert.match(r.stderr, /Cannot reach registry 127\.0\.0\.1:1: connection refused/);
    r = await other.berth(['pull', 'Bad/Ref'], { env });
    assert.match(r.stderr, /Invalid reference format/);
  });
});
