/**
 * What a default container may not do, through bin/berth on runc: a static probe program
 * tries namespaces and io_uring under the default seccomp profile and without it; mounts
 * over the container's root are refused at create.
 */
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../src/core/exec.js';
import { unpackBusybox } from './helpers/busybox-image.js';
import { isRoot, repoRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

/** Builds the probe static, or says why it cannot (no gcc, or no static libc). */
async function buildProbe(out: string): Promise<string | undefined> {
  const r = await run('gcc', ['-static', '-O2', '-o', out, join(repoRoot, 'test/fixtures/seccomp-probe.c')], {
    check: false,
  }).catch((e: Error) => ({ code: -1, stderr: e.message }));
  return r.code === 0 ? undefined : `cannot build a static probe (gcc -static, libc6-dev): ${r.stderr}`;
}

describe('container security', { skip: !isRoot && 'needs root' }, () => {
  let box: Sandbox;
  let rootfs: string;
  let noProbe: string | undefined;
  before(async () => {
    box = await sandbox(undefined);
    rootfs = await unpackBusybox(box);
    noProbe = await buildProbe(join(box.dir, 'probe'));
    if (!noProbe) copyFileSync(join(box.dir, 'probe'), join(rootfs, 'bin/probe'));
  });
  after(() => box.cleanup());

  const probe = async (t: { skip(m: string): void }, extra: string[]) => {
    if (noProbe) {
      t.skip(noProbe);
      return undefined;
    }
    const r = await box.berth([
      'run',
      '--rm',
      '--network',
      'none',
      ...extra,
      '--rootfs',
      rootfs,
      '/bin/probe',
    ]);
    assert.equal(r.code, 0, r.stderr);
    return Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
  };

  it('the default profile refuses namespaces through clone and unshare, clone3 and io_uring', async (t) => {
    const got = await probe(t, []);
    if (!got) return;
    assert.deepEqual(got, { clone: 'EPERM', clone3: 'ENOSYS', unshare: 'EPERM', io_uring_setup: 'EPERM' });
  });

  it('seccomp=unconfined lifts the filter; --privileged too', async (t) => {
    // Creating a user namespace needs no capability; the network namespace inside it is owned
    // by the new user namespace, so the kernel allows both once seccomp does.
    const want = { clone: 'OK', clone3: 'OK', unshare: 'OK', io_uring_setup: 'OK' };
    assert.deepEqual(await probe(t, ['--security-opt', 'seccomp=unconfined']), noProbe ? undefined : want);
    assert.deepEqual(await probe(t, ['--privileged']), noProbe ? undefined : want);
  });

  it('seccomp=FILE applies a Docker-format profile file', async (t) => {
    const file = join(box.dir, 'profile.json');
    writeFileSync(
      file,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['io_uring_setup'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
      }),
    );
    const got = await probe(t, ['--security-opt', `seccomp=${file}`]);
    if (got) assert.equal(got.io_uring_setup, 'EACCES');
    const bad = await box.berth([
      'create',
      '--security-opt',
      `seccomp=${join(box.dir, 'none.json')}`,
      '--rootfs',
      rootfs,
      'true',
    ]);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /Cannot read seccomp profile ".*none\.json"/);
  });

  it('refuses a mount over / at create, with Docker words', async () => {
    for (const spec of [`${box.dir}:/`, 'vol1:/', '/']) {
      const r = await box.berth(['create', '-v', spec, '--rootfs', rootfs, 'true']);
      assert.equal(r.code, 125, spec);
      assert.match(
        r.stderr,
        /invalid mount config for type "(bind|volume)": invalid specification: destination can't be '\/'/,
      );
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    const r = await box.berth(['create', '--tmpfs', '/', '--rootfs', rootfs, 'true']);
    assert.match(r.stderr, /destination can't be '\/'/);
    assert.equal((await box.berth(['ps', '-a', '-q'])).stdout, '', 'no container was made');
  });
});
