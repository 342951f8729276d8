/**
 * Everyday Docker flags on real containers (runc under conmon). The reference for each case
 * is Docker's documented behaviour, quoted in the test.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../src/core/exec.js';
import { runDetached, unpackBusybox } from './helpers/busybox-image.js';
import { berthBin, isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';
import { until } from './helpers/until.js';

describe('container flags Docker users rely on', { skip: !isRoot && 'needs root' }, () => {
  let box: Sandbox;
  let rootfs: string;

  before(async () => {
    box = await sandbox(undefined);
    rootfs = await unpackBusybox(box);
  });
  after(() => box.cleanup());

  const berth = async (args: string[]) => (await box.ok(args)).trim();
  const health = async (name: string) =>
    JSON.parse(await berth(['inspect', '--format', '{{json .State.Health}}', name])) as {
      Status: string;
      FailingStreak: number;
      Log: { ExitCode: number; Output: string }[];
    } | null;
  const runOnce = (flags: string[], script: string) =>
    berth(['run', '--rm', '--network', 'none', ...flags, '--rootfs', rootfs, 'sh', '-c', script]);
  const psStatus = (name: string) => berth(['ps', '--filter', `name=${name}`, '--format', '{{.Status}}']);

  it('health checks: starting, unhealthy after the retries, healthy once the check passes, in ps and inspect', async () => {
    // Docker: the first probe runs one interval after the start; until then the status is
    // "starting" and ps shows "(health: starting)"; after --health-retries consecutive failures
    // it is "unhealthy"; one success makes it "healthy". The check keeps running after the
    // `run -d` that started it has exited (the monitor is its own process).
    const name = box.name('hc');
    await runDetached(box, rootfs, name, [
      '--health-cmd',
      'echo probing; test -e /tmp/ok',
      '--health-interval',
      '300ms',
      '--health-retries',
      '2',
    ]);
    const first = await health(name);
    assert.ok(first, 'State.Health exists once the container runs');
    assert.match(await psStatus(name), /^Up .* \((health: starting|unhealthy)\)$/);
    await until('the container turns unhealthy', async () => (await health(name))?.Status === 'unhealthy');
    const bad = (await health(name))!;
    assert.ok(bad.FailingStreak >= 2, `streak ${bad.FailingStreak}`);
    assert.equal(bad.Log.at(-1)!.ExitCode, 1);
    assert.equal(bad.Log.at(-1)!.Output, 'probing\n');
    assert.match(await psStatus(name), /\(unhealthy\)$/);
    await berth(['exec', name, 'touch', '/tmp/ok']);
    await until('the container turns healthy', async () => (await health(name))?.Status === 'healthy');
    assert.match(await psStatus(name), /^Up .* \(healthy\)$/);
    assert.equal((await health(name))!.FailingStreak, 0);
    const config = JSON.parse(await berth(['inspect', '--format', '{{json .Config.Healthcheck}}', name]));
    assert.deepEqual(config, {
      Test: ['CMD-SHELL', 'echo probing; test -e /tmp/ok'],
      Interval: 300_000_000,
      Retries: 2,
    });
    const events = await berth([
      'events',
      '--until',
      '0s',
      '--filter',
      `container=${name}`,
      '--format',
      '{{.Action}}',
    ]);
    assert.match(events, /health_status: unhealthy/);
    assert.match(events, /health_status: healthy/);
  });

  it("a probe that outlives --health-timeout fails with Docker's message", async () => {
    // Docker: "Health check exceeded timeout (1s)" with exit code -1 in the log.
    const name = box.name('hct');
    await runDetached(box, rootfs, name, [
      '--health-cmd',
      'sleep 60',
      '--health-interval',
      '200ms',
      '--health-timeout',
      '300ms',
      '--health-retries',
      '1',
    ]);
    await until('the probe times out', async () => (await health(name))?.Status === 'unhealthy');
    const last = (await health(name))!.Log.at(-1)!;
    assert.equal(last.ExitCode, -1);
    assert.equal(last.Output, 'Health check exceeded timeout (0.3s)');
  });

  it("--no-healthcheck, and bad health flags are refused in Docker's words", async () => {
    const name = box.name('nohc');
    await box.berth(['create', '--name', name, '--no-healthcheck', '--rootfs', rootfs, 'true']);
    assert.deepEqual(JSON.parse(await berth(['inspect', '--format', '{{json .Config.Healthcheck}}', name])), {
      Test: ['NONE'],
    });
    const conflict = await box.berth([
      'create',
      '--no-healthcheck',
      '--health-cmd',
      'true',
      '--rootfs',
      rootfs,
    ]);
    assert.equal(conflict.code, 125);
    assert.match(conflict.stderr, /--no-healthcheck conflicts with --health-\* options/);
    const bad = await box.berth(['create', '--health-interval', 'soon', '--rootfs', rootfs]);
    assert.equal(bad.code, 125);
    assert.match(
      bad.stderr,
      /invalid argument "soon" for "--health-interval" flag: time: invalid duration "soon"/,
    );
  });

  it('--mount binds, volumes and tmpfs with their options', async () => {
    // Docker: `--mount type=bind` needs an existing source ("bind source path does not
    // exist"), `readonly` makes it read-only; a volume is created on first use; a tmpfs takes
    // tmpfs-size (bytes) and tmpfs-mode (octal).
    const host = join(box.dir, 'bound');
    mkdirSync(host);
    writeFileSync(join(host, 'in'), 'from host\n');
    const vol = box.name('vol');
    const out = await runOnce(
      [
        '--mount',
        `type=bind,source=${host},target=/b`,
        '--mount',
        `type=bind,src=${host},dst=/ro,readonly`,
        '--mount',
        `source=${vol},target=/v`,
        '--mount',
        'type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770',
      ],
      'cat /b/in; echo out > /b/out; touch /ro/x 2>/dev/null || echo ro refused; echo kept > /v/f; ' +
        'grep " /t " /proc/mounts; stat -c %a /t',
    );
    const lines = out.split('\n');
    assert.equal(lines[0], 'from host');
    assert.equal(lines[1], 'ro refused');
    assert.match(lines[2]!, /^tmpfs \/t tmpfs rw,nosuid,nodev.*size=1024k.*mode=1770/);
    assert.equal(lines[3], '1770');
    assert.equal(readFileSync(join(host, 'out'), 'utf8'), 'out\n');
    assert.equal(await runOnce(['--mount', `type=volume,src=${vol},dst=/again`], 'cat /again/f'), 'kept');
    const missing = await box.berth([
      'create',
      '--mount',
      `type=bind,source=${join(box.dir, 'nope')},target=/x`,
      '--rootfs',
      rootfs,
    ]);
    assert.equal(missing.code, 125);
    assert.match(
      missing.stderr,
      /invalid mount config for type "bind": bind source path does not exist: .*\/nope/,
    );
    const dup = await box.berth([
      'create',
      '--mount',
      'type=tmpfs,dst=/d',
      '-v',
      `${host}:/d`,
      '--rootfs',
      rootfs,
    ]);
    assert.equal(dup.code, 125);
    assert.match(dup.stderr, /Duplicate mount point: \/d/);
  });

  it('--device adds the host node, --cgroupns private a cgroup namespace of its own', async () => {
    // Docker: `--device /dev/fuse:/dev/myfuse:r` makes the node at the container path with
    // the host's numbers, and the device cgroup allows only the given access;
    // `--cgroupns private` gives the container its own cgroup namespace, `host` shares it.
    const out = await runOnce(
      ['--device', '/dev/fuse:/dev/myfuse:r', '--cgroupns', 'private'],
      'stat -c "%t:%T %F" /dev/myfuse; readlink /proc/self/ns/cgroup; cat /proc/self/cgroup | grep -c ":/$"',
    );
    const [dev, ns, rootLines] = out.split('\n');
    assert.equal(dev, 'a:e5 character special file');
    assert.notEqual(ns, (await run('readlink', ['/proc/self/ns/cgroup'])).stdout.trim());
    assert.ok(Number(rootLines) > 0, 'the container sees its cgroups as /');
    const shared = await runOnce(['--cgroupns', 'host'], 'readlink /proc/self/ns/cgroup');
    assert.equal(shared, (await run('readlink', ['/proc/self/ns/cgroup'])).stdout.trim());
    const missing = await box.berth(['run', '--rm', '--device', '/dev/nope', '--rootfs', rootfs, 'true']);
    assert.equal(missing.code, 125);
    assert.match(
      missing.stderr,
      /error gathering device information while adding custom device "\/dev\/nope": no such file or directory/,
    );
    const badMode = await box.berth(['create', '--device', '/dev/fuse:/dev/f:xyz', '--rootfs', rootfs]);
    assert.match(badMode.stderr, /bad mode specified: xyz/);
    const badNs = await box.berth(['create', '--cgroupns', 'shared', '--rootfs', rootfs]);
    assert.match(badNs.stderr, /--cgroupns: invalid CGROUP mode "shared"/);
  });

  it('--log-driver json-file with max-size keeps the log under the size; none has logs refuse; unknown drivers and options are refused', async () => {
    // Docker: json-file is the default driver, `max-size` caps the log file; podman stores
    // json-file logs in the k8s-file format, as Berth does. An unknown driver is refused with
    // "no log driver named ... is registered", an unknown option with "unknown log opt".
    const name = box.name('log');
    await berth([
      'run',
      '--name',
      name,
      '--network',
      'none',
      '--log-driver',
      'json-file',
      '--log-opt',
      'max-size=2k',
      '--rootfs',
      rootfs,
      'sh',
      '-c',
      'for i in $(seq 1 100); do echo "line $i ..............................................."; done',
    ]);
    const logs = await berth(['logs', name]);
    assert.match(logs, /line 100 /);
    assert.doesNotMatch(logs, /^line 1 /m, 'the start of the log was dropped when it filled');
    assert.deepEqual(
      JSON.parse(await berth(['inspect', '--format', '{{json .HostConfig.LogConfig}}', name])),
      {
        Type: 'json-file',
        Config: { 'max-size': '2k' },
      },
    );
    const badDriver = await box.berth(['create', '--log-driver', 'syslog', '--rootfs', rootfs]);
    assert.equal(badDriver.code, 125);
    assert.match(badDriver.stderr, /logger: no log driver named 'syslog' is registered/);
    const badOpt = await box.berth(['create', '--log-opt', 'colour=red', '--rootfs', rootfs]);
    assert.match(badOpt.stderr, /unknown log opt 'colour' for k8s-file log driver/);
    const badFiles = await box.berth(['create', '--log-opt', 'max-file=3', '--rootfs', rootfs]);
    assert.match(badFiles.stderr, /max-file can't be set when max-size is not set/);
    // Docker: `docker logs` of a `--log-driver none` container fails with "configured logging
    // driver does not support reading"; the attached run still shows its output.
    const quiet = box.name('nolog');
    const ran = await berth([
      'run',
      '--name',
      quiet,
      '--network',
      'none',
      '--log-driver',
      'none',
      '--rootfs',
      rootfs,
      'echo',
      'hi',
    ]);
    assert.equal(ran, 'hi');
    const refused = await box.berth(['logs', quiet]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /configured logging driver does not support reading/);
  });

  it("--privileged gives the container the host's device nodes", async () => {
    // Docker: "--privileged gives all capabilities to the container and it also lifts all
    // the limitations enforced by the device cgroup controller ... access to all devices on
    // the host". /dev/kmsg is not among a default container's devices.
    const hostHas = (await run('sh', ['-c', 'test -c /dev/kmsg'], { check: false })).code === 0;
    if (!hostHas) return;
    assert.equal(await runOnce(['--privileged'], 'test -c /dev/kmsg && echo yes'), 'yes');
    assert.equal(await runOnce([], 'test -c /dev/kmsg && echo yes || echo no'), 'no');
  });

  it("exec -it sets TERM under a real terminal; a paused container refuses exec and attach in Docker's words", async () => {
    // Docker: `docker exec -it` sets TERM=xterm (the container here was started without -t,
    // so its own environment has no TERM); exec into a paused container fails with
    // "Container ID is paused, unpause the container before exec", attach with "You cannot
    // attach to a paused container, unpause it first"; top still lists its processes.
    const name = box.name('pz');
    const id = await runDetached(box, rootfs, name, []);
    const viaPty = await box.exec('script', [
      '-qec',
      `${berthBin} --root ${box.root} --runroot ${box.runroot} exec -it ${name} sh -c 'echo term=$TERM; [ -t 0 ] && echo tty'`,
      '/dev/null',
    ]);
    assert.match(viaPty.stdout, /term=xterm\r?\n/);
    assert.match(viaPty.stdout, /tty/);
    await berth(['pause', name]);
    const ex = await box.berth(['exec', name, 'true']);
    assert.notEqual(ex.code, 0);
    assert.match(ex.stderr, new RegExp(`Container ${id} is paused, unpause the container before exec`));
    const at = await box.berth(['attach', name]);
    assert.match(at.stderr, /You cannot attach to a paused container, unpause it first/);
    assert.match(await berth(['top', name]), /sleep 1000/);
    await berth(['unpause', name]);
  });
});
