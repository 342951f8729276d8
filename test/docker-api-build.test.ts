/**
 * The real docker CLI against `berth system service` for images and container settings:
 * `docker build` on the classic builder endpoint, `docker save`/`docker load`, `docker
 * search` against a registry without search, exec resize, HostConfig's ulimits, devices,
 * log options, health checks and typed mounts, and docker-py's run without detach.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../src/core/exec.js';
import {
  apiCall,
  apiHijack,
  type DockerService,
  dockerServiceSandbox,
  haveDocker,
} from './helpers/docker-service.js';
import { startRegistry } from './helpers/registry.js';
import { isRoot, type Sandbox } from './helpers/sandbox.js';
import { until } from './helpers/until.js';

const haveDockerPy = spawnSync('python3', ['-c', 'import docker']).status === 0;

describe('docker CLI against berth system service: build, load, search, exec resize, HostConfig', {
  skip: (!isRoot && 'needs root') || (!haveDocker && 'needs the docker CLI'),
}, () => {
  let box: Sandbox;
  let svc: DockerService;
  const image = 'bb:dockerbuild';
  /** The classic builder, as the CLI uses it without BuildKit's plugin. */
  const build = (args: string[]) =>
    run('docker', ['build', ...args], { check: false, env: { ...svc.env, DOCKER_BUILDKIT: '0' } });

  before(async () => {
    ({ box, svc } = await dockerServiceSandbox(image));
  });
  after(() => box.cleanup());

  it('builds from a tar context on the classic endpoint: tags, build args, target, labels, -f, -q, --no-cache', async () => {
    const ctx = join(box.dir, 'ctx');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'file.txt'), 'from the context\n');
    writeFileSync(
      join(ctx, 'Custom.dockerfile'),
      [
        `FROM ${image} AS base`,
        'ARG GREETING=hello',
        'RUN echo "$GREETING" > /greeting',
        'COPY file.txt /file.txt',
        'FROM base AS extra',
        'RUN touch /extra',
        '',
      ].join('\n'),
    );
    const args = [
      '--network',
      'none',
      '--rm',
      '-f',
      join(ctx, 'Custom.dockerfile'),
      '--build-arg',
      'GREETING=hi',
    ];
    const r = await build([...args, '-t', 'built:one', '--target', 'base', '--label', 'made=by-test', ctx]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /Successfully built [0-9a-f]{12}\n/);
    assert.match(r.stdout, /Successfully tagged built:one\n/);
    assert.equal(
      await svc.ok([
        'run',
        '--rm',
        '--network',
        'none',
        'built:one',
        'sh',
        '-c',
        'cat /greeting /file.txt; test ! -e /extra',
      ]),
      'hi\nfrom the context\n',
    );
    assert.equal(
      await svc.ok(['inspect', '-f', '{{index .Config.Labels "made"}}', 'built:one']),
      'by-test\n',
    );
    // Again: every step from the cache, and -q prints only the image ID, the one the tag names.
    const q = await build([
      ...args,
      '-q',
      '-t',
      'built:one',
      '--target',
      'base',
      '--label',
      'made=by-test',
      ctx,
    ]);
    assert.equal(q.code, 0, q.stderr);
    const id = (await svc.ok(['inspect', '-f', '{{.Id}}', 'built:one'])).trim();
    assert.equal(q.stdout.trim(), id);
    const fresh = await build([...args, '--no-cache', '-t', 'built:two', ctx]);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.doesNotMatch(fresh.stdout, /CACHED/);
    assert.equal(await svc.ok(['run', '--rm', '--network', 'none', 'built:two', 'ls', '/extra']), '/extra\n');
  });

  it('reports a failed build step in the stream, with a failing exit status', async () => {
    const ctx = join(box.dir, 'ctx-fail');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${image}\nRUN echo before; exit 3\n`);
    const r = await build(['--network', 'none', ctx]);
    // The classic builder's words, and the step's status as the CLI's own.
    assert.equal(r.code, 3);
    assert.match(r.stderr, /The command '\/bin\/sh -c echo before; exit 3' returned a non-zero code: 3/);
    const missing = await build(['--network', 'none', '-f', 'Nope', ctx]);
    assert.notEqual(missing.code, 0);
  });

  it('saves and loads images through the CLI (docker save, docker load -i and from stdin)', async () => {
    await svc.ok(['tag', image, 'roundtrip:1']);
    const file = join(box.dir, 'roundtrip.tar');
    await svc.ok(['save', '-o', file, 'roundtrip:1']);
    await svc.ok(['rmi', 'roundtrip:1']);
    assert.match(await svc.ok(['load', '-i', file]), /Loaded image: roundtrip:1/);
    assert.equal(
      await svc.ok(['run', '--rm', '--network', 'none', 'roundtrip:1', 'echo', 'loaded']),
      'loaded\n',
    );
    await svc.ok(['rmi', 'roundtrip:1']);
    const piped = await run('docker', ['load'], { check: false, env: svc.env, input: readFileSync(file) });
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stdout, /Loaded image: roundtrip:1/);
    const bad = await run('docker', ['load'], {
      check: false,
      env: svc.env,
      input: Buffer.from('not a tar'),
    });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /not a valid tar archive|neither manifest.json nor index.json/);
  });

  it("answers docker search with Docker's error when the registry offers no search", async () => {
    const reg = await startRegistry(box);
    const r = await svc.docker(['search', `${reg.host}/busybox`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Error response from daemon: Unexpected status code 404/);
  });

  it('resizes an exec terminal: the size at start, and POST /exec/ID/resize later', async () => {
    const name = box.name('resize');
    await svc.ok(['run', '-d', '--name', name, '--network', 'none', image, 'sleep', '1000']);
    // The CLI on a pty of 33x77 rows and columns: the exec's terminal gets that size. (runc
    // sizes the terminal it makes just after it starts the command, so the command waits
    // until its terminal has a size.)
    const e = await run(
      'script',
      [
        '-eqc',
        `stty rows 33 cols 77; docker exec -it ${name} sh -c 'while [ -z "$(stty size 2>/dev/null)" ]; do sleep 0.1; done; stty size'`,
        '/dev/null',
      ],
      { check: false, env: svc.env, input: '' },
    );
    assert.equal(e.code, 0, e.stdout);
    // (the terminal may echo a NUL or two before the output)
    assert.match(e.stdout, /33 77\r?$/m);
    // Through the API: a running TTY exec resized, its own stty seeing each new size.
    const { Id } = (
      await apiCall(svc.sock, 'POST', `/containers/${name}/exec`, {
        Cmd: ['sh', '-c', 'while read l; do stty size; done'],
        Tty: true,
        AttachStdin: true,
        AttachStdout: true,
      })
    ).body as { Id: string };
    const conn = await apiHijack(svc.sock, `/exec/${Id}/start`, { Detach: false, Tty: true });
    try {
      const resized = await apiCall(svc.sock, 'POST', `/exec/${Id}/resize?h=44&w=88`);
      assert.equal(resized.status, 200);
      await until('the exec sees 44 rows and 88 columns', async () => {
        conn.socket.write('\n');
        return /44 88/.test(conn.output());
      });
    } finally {
      conn.socket.destroy();
    }
    await svc.ok(['rm', '-f', name]);
  });

  it('creates with ulimits, devices, log options, a health check and typed mounts, shown by inspect', async () => {
    const name = box.name('hostcfg');
    await svc.ok([
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'none',
      '--ulimit',
      'nofile=100:200',
      '--device',
      '/dev/null:/dev/mynull',
      '--log-driver',
      'json-file',
      '--log-opt',
      'max-size=1m',
      '--log-opt',
      'max-file=2',
      '--health-cmd',
      'true',
      '--health-interval',
      '1s',
      '--mount',
      'type=tmpfs,target=/scratch,tmpfs-size=1048576',
      '--mount',
      'type=volume,target=/anon',
      '--stop-signal',
      'USR1',
      image,
      'sleep',
      '1000',
    ]);
    const doc = JSON.parse(await svc.ok(['inspect', name])) as {
      HostConfig: {
        Ulimits: { Name: string; Soft: number; Hard: number }[];
        Devices: { PathOnHost: string; PathInContainer: string }[];
        LogConfig: { Type: string; Config: Record<string, string> };
        Mounts: { Type: string; Target: string; TmpfsOptions?: { SizeBytes: number } }[] | null;
      };
      Config: { Healthcheck: { Test: string[] }; StopSignal: string };
      Mounts: { Type: string; Destination: string }[];
    }[];
    const c = doc[0]!;
    assert.deepEqual(c.HostConfig.Ulimits, [{ Name: 'nofile', Soft: 100, Hard: 200 }]);
    assert.equal(c.HostConfig.Devices[0]!.PathInContainer, '/dev/mynull');
    assert.deepEqual(c.HostConfig.LogConfig, {
      Type: 'json-file',
      Config: { 'max-size': '1m', 'max-file': '2' },
    });
    assert.deepEqual(c.Config.Healthcheck.Test, ['CMD-SHELL', 'true']);
    assert.equal(c.Config.StopSignal, 'SIGUSR1');
    assert.ok(c.Mounts.some((m) => m.Type === 'volume' && m.Destination === '/anon'));
    // Docker lists a --mount tmpfs in the top-level Mounts, and every --mount in HostConfig.Mounts.
    assert.ok(c.Mounts.some((m) => m.Type === 'tmpfs' && m.Destination === '/scratch'));
    assert.deepEqual(c.HostConfig.Mounts, [
      { Type: 'volume', Target: '/anon' },
      { Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 1048576 } },
    ]);
    // The container's own process has the soft and hard limits. An exec reads only the hard
    // one: Debian's runc 1.1.5 (Go 1.19) races Go's start-up raising the soft nofile limit to
    // the hard one in `runc exec` (runc issue 4195, fixed in 1.1.13), about one exec in six.
    assert.equal(
      await svc.ok([
        'exec',
        name,
        'sh',
        '-c',
        'grep "open files" /proc/1/limits | tr -s " "; ulimit -Hn; test -c /dev/mynull && echo dev; grep -c " /scratch tmpfs" /proc/mounts',
      ]),
      'Max open files 100 200 files \n200\ndev\n1\n',
    );
    await until(
      'the health check reports healthy',
      async () => (await svc.ok(['inspect', '-f', '{{.State.Health.Status}}', name])).trim() === 'healthy',
    );
    await svc.ok(['rm', '-f', '-v', name]);
    // --log-driver none: the container runs, and logs refuses as Docker does.
    const quiet = box.name('nolog');
    await svc.ok([
      'run',
      '-d',
      '--name',
      quiet,
      '--network',
      'none',
      '--log-driver',
      'none',
      image,
      'echo',
      'x',
    ]);
    const logs = await svc.docker(['logs', quiet]);
    assert.notEqual(logs.code, 0);
    assert.match(logs.stderr, /configured logging driver does not support reading/);
    const bad = await svc.docker(['create', '--ulimit', 'nofile=5:1', image]);
    assert.notEqual(bad.code, 0);
    await svc.ok(['rm', '-f', quiet]);
  });

  it('returns the output of a run without detach in docker-py', {
    skip: !haveDockerPy && 'needs python3-docker',
  }, async () => {
    const script = `
import docker, sys
c = docker.DockerClient(base_url=sys.argv[1])
out = c.containers.run(sys.argv[2], ["sh", "-c", "echo from-run; echo to-err >&2"], network_mode="none", remove=True)
sys.stdout.write(out.decode())
`;
    const r = await run('python3', ['-c', script, svc.env.DOCKER_HOST!, image], { check: false });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'from-run\n');
  });
});
