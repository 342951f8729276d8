/**
 * Container state that tells the truth after a `berth` process dies part-way. The reference
 * is podman: a container whose runtime holds it created (`runc create` done, `runc start`
 * not) is listed as Created, and `podman start` runs it.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../src/core/exec.js';
import { unpackBusybox } from './helpers/busybox-image.js';
import { berthBin, isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

describe('container state after an interrupted run', { skip: !isRoot && 'needs root' }, () => {
  let box: Sandbox;
  let rootfs: string;
  let runtime: string;
  let marker: string;

  before(async () => {
    box = await sandbox(undefined);
    rootfs = await unpackBusybox(box);
    // A runtime that is runc, except that while the marker exists its `start` SIGKILLs the
    // `berth` that called it (its parent) instead: `berth run` dies exactly between the
    // runtime's create and start, with nothing timed. Not named runc: Berth lets runc's
    // containers start itself (exec.fifo), and runs `start` only for other runtimes.
    const bin = join(box.dir, 'rt');
    mkdirSync(bin);
    runtime = join(bin, 'runc-dies-at-start');
    marker = join(box.dir, 'die-at-start');
    const runc = (await run('sh', ['-c', 'command -v runc'])).stdout.trim();
    writeFileSync(
      runtime,
      `#!/bin/sh\nfor a; do [ "$a" = start ] && [ -e ${marker} ] && rm ${marker} && kill -9 $PPID && exit 1; done\nexec ${runc} "$@"\n`,
    );
    chmodSync(runtime, 0o755);
  });
  after(() => box.cleanup());

  it('a run killed between create and start shows Created, and start runs it', async () => {
    writeFileSync(marker, '');
    const name = box.name('half');
    const r = await box.berth([
      'run',
      '-d',
      '--network',
      'none',
      '--runtime',
      runtime,
      '--name',
      name,
      '--rootfs',
      rootfs,
      'sh',
      '-c',
      'echo ran; exec sleep 1000',
    ]);
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const status = async () =>
      (await box.berth(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.State}} {{.Status}}']))
        .stdout;
    assert.equal(await status(), 'created Created\n');
    const st = await box.berth(['inspect', '--format', '{{.State.Status}} {{.State.Running}}', name]);
    assert.equal(st.stdout, 'created false\n');

    const s = await box.berth(['start', name]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(await status(), /^running Up /);
    const logs = await box.berth(['logs', name]);
    assert.equal(logs.stdout, 'ran\n');
    const rm = await box.berth(['rm', '-f', name]);
    assert.equal(rm.code, 0, rm.stderr);
  });

  it("pause freezes and unpause thaws, with Docker's states and messages; stop thaws first", async () => {
    // Docker: ps shows "Up N seconds (Paused)", inspect State.Status paused with Running and
    // Paused true; pausing twice is "Container ID is already paused"; stop works on a paused one.
    const name = box.name('pause');
    await box.berth(['run', '-d', '--network', 'none', '--name', name, '--rootfs', rootfs, 'sleep', '1000']);
    const st = async () =>
      (
        await box.berth([
          'inspect',
          '--format',
          '{{.State.Status}} {{.State.Running}} {{.State.Paused}}',
          name,
        ])
      ).stdout;
    assert.equal((await box.berth(['pause', name])).stdout, `${name}\n`);
    assert.equal(await st(), 'paused true true\n');
    const ps = await box.berth(['ps', '--filter', `name=${name}`, '--format', '{{.Status}}']);
    assert.match(ps.stdout, /^Up .* \(Paused\)\n$/);
    const again = await box.berth(['pause', name]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /Container [0-9a-f]{64} is already paused/);
    assert.equal((await box.berth(['unpause', name])).code, 0);
    assert.equal(await st(), 'running true false\n');
    assert.match((await box.berth(['unpause', name])).stderr, /is not paused/);
    await box.berth(['pause', name]);
    const stop = await box.berth(['stop', '-t', '1', name]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(await st(), /^exited false false\n$/);
    assert.equal((await box.berth(['rm', name])).code, 0);
  });

  it("update changes a running container's limits at once and keeps them (docker update)", async () => {
    const name = box.name('upd');
    await box.berth(['run', '-d', '--network', 'none', '--name', name, '--rootfs', rootfs, 'sleep', '1000']);
    const u = await box.berth([
      'update',
      '--memory',
      '64m',
      '--pids-limit',
      '50',
      '--restart',
      'always',
      name,
    ]);
    assert.equal(u.code, 0, u.stderr);
    assert.equal(u.stdout, `${name}\n`);
    const hc = await box.berth([
      'inspect',
      '--format',
      '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}',
      name,
    ]);
    assert.equal(hc.stdout, `${64 * 1024 * 1024} 50 always\n`);
    // The container's own cgroup says so (cgroup v1 here; v2 has memory.max).
    const inside = await box.berth([
      'exec',
      name,
      'sh',
      '-c',
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
    ]);
    assert.equal(inside.stdout, `${64 * 1024 * 1024}\n`);
    const none = await box.berth(['update', name]);
    assert.match(none.stderr, /You must provide one or more flags when using this command/);
    assert.equal((await box.berth(['rm', '-f', name])).code, 0);
  });

  it('a --root or --runroot that cannot be created fails at once, naming the folder', async () => {
    // Docker: `dockerd --data-root /proc/x` stops with "mkdir /proc/x: no such file or directory".
    for (const flag of ['--root', '--runroot']) {
      const r = await run(berthBin, [flag, '/proc/berth-no-such/x', 'ps'], { check: false });
      assert.equal(r.code, 125);
      assert.equal(
        r.stderr,
        'Error: Cannot create folder "/proc/berth-no-such/x": mkdir /proc/berth-no-such: no such file or directory\n',
      );
    }
  });
});
