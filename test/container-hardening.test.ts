/**
 * What a local attacker tried against the engine, through bin/berth on the real runtime:
 * arguments that Node itself would act on, state left readable by other users, and `run --rm`
 * containers left behind when the reader of `berth run`'s output goes away.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../src/core/exec.js';
import { unpackBusybox } from './helpers/busybox-image.js';
import { berthBin, isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';
import { until } from './helpers/until.js';

describe('engine hardening', { skip: !isRoot && 'needs root' }, () => {
  let box: Sandbox;
  let rootfs: string;
  const img = () => ['--network', 'none', '--rootfs', rootfs];
  const mode = (p: string) => statSync(p).mode & 0o777;

  before(async () => {
    box = await sandbox(undefined);
    rootfs = await unpackBusybox(box);
  });
  after(() => box.cleanup());

  it('never lets an argument change how Node starts: an env file naming a --require script', async () => {
    const marker = join(box.dir, 'node-loaded-it');
    const script = join(box.dir, 'marker.cjs');
    writeFileSync(script, `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\n`);
    const envFile = join(box.dir, 'evil.env');
    writeFileSync(envFile, `NODE_OPTIONS=--require ${script}\n`);
    const echo = ['sh', '-c', 'echo "$NODE_OPTIONS"'];
    // The container gets the variable, as with Docker; the CLI's Node never reads the file.
    for (const flag of [['--env-file', envFile], [`--env-file=${envFile}`]]) {
      const r = await box.berth(['run', '--rm', ...flag, ...img(), ...echo]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `--require ${script}\n`);
    }
    // Node's own flags anywhere else are ordinary (here: unknown or container) arguments.
    await box.berth(['--env-file', envFile, 'ps']);
    await box.berth([`--require=${script}`, 'ps']);
    await box.berth(['run', '--rm', ...img(), 'echo', '--env-file', envFile, '--require', script]);
    assert.equal(existsSync(marker), false, 'Node loaded the env file and ran the --require script');
  });

  it('locks down state folders and database files that already exist with loose modes', async () => {
    chmodSync(box.root, 0o755);
    chmodSync(box.runroot, 0o755);
    const db = join(box.root, 'berth.db');
    if (existsSync(db)) chmodSync(db, 0o644);
    const r = await box.berth(['run', '-d', ...img(), 'sleep', '60']);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    try {
      // A second process opens the store while the first's WAL is live.
      assert.equal((await box.berth(['ps', '-q'])).code, 0);
      assert.equal(mode(box.root), 0o700);
      assert.equal(mode(box.runroot), 0o700);
      for (const f of readdirSync(box.root).filter((f) => f.startsWith('berth.db')))
        assert.equal(mode(join(box.root, f)), 0o600, f);
    } finally {
      assert.equal((await box.berth(['rm', '-f', id])).code, 0);
    }
  });

  it('run --rm | head -1: every container still goes, with its mounts and cgroups', async () => {
    const berth = [berthBin, '--root', box.root, '--runroot', box.runroot].join(' ');
    const pipeline = `${berth} run --rm ${img().join(' ')} sh -c "seq 1 100000" | head -1`;
    for (let i = 0; i < 10; i++) {
      const r = await run('sh', ['-c', pipeline], { env: box.env });
      assert.equal(r.stdout, '1\n', r.stderr);
    }
    await until('every run --rm container removed', async () => {
      const ps = await box.berth(['ps', '-a', '-q']);
      return ps.code === 0 && ps.stdout === '';
    });
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(join(box.root, 'containers')));
    assert.deepEqual(mounts, []);
    const cgroups = readdirSync('/sys/fs/cgroup')
      .map((c) => join('/sys/fs/cgroup', c, box.cgroupParent))
      .filter((p) => existsSync(p))
      .flatMap((p) => readdirSync(p, { withFileTypes: true }).filter((e) => e.isDirectory()))
      .map((e) => e.name);
    assert.deepEqual(cgroups, []);
  });
});
