// Pull and push against the real docker-registry on loopback: anonymous, Basic auth, and
// interoperability with skopeo (digest-stable both ways).
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run } from '../src/core/exec.js';
import { busyboxRootfsTar } from './helpers/busybox-image.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

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
    const r = await box.berth(['import', '--change', 'CMD ["sh"]', await busyboxRootfsTar(), 'bb:1']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await other.cleanup();
    await box.cleanup();
  });
  const ok = async (b: Sandbox, args: string[]) => {
    const r = await b.berth(args, { env });
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

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
