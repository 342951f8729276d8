/**
 * The real docker CLI against `berth system service`: a service started in the sandbox's
 * network namespace with the sandbox's stores, and `docker` pointed at its socket with
 * DOCKER_HOST. Every check is what a user of the CLI sees: output, exit codes, messages.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../src/core/exec.js';
import { type DockerService, dockerServiceSandbox, haveDocker } from './helpers/docker-service.js';
import { isRoot, type Sandbox } from './helpers/sandbox.js';
import { until } from './helpers/until.js';

/** True when Debian's docker CLI 20.10 is installed beside the newer one (docker.io). */
function debianDocker(): boolean {
  if (!existsSync('/usr/bin/docker')) return false;
  return spawnSync('/usr/bin/docker', ['--version']).stdout.toString().includes(' 20.10');
}

describe('docker CLI against berth system service', {
  skip: (!isRoot && 'needs root') || (!haveDocker && 'needs the docker CLI'),
}, () => {
  let box: Sandbox;
  let svc: DockerService;
  let sock: string;
  const image = 'bb:dockerapi';
  const docker = (args: string[], input?: string) => svc.docker(args, input);
  const ok = (args: string[], input?: string) => svc.ok(args, input);

  before(async () => {
    ({ box, svc } = await dockerServiceSandbox(image));
    sock = svc.sock;
  });
  after(() => box.cleanup());

  it('serves on a socket only root and group berth can use', () => {
    const st = statSync(sock);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.uid, 0);
  });

  it('answers docker version and docker info', async () => {
    const v = JSON.parse(await ok(['version', '--format', '{{json .}}'])) as {
      Server: { Platform: { Name: string }; ApiVersion: string };
    };
    assert.equal(v.Server.Platform.Name, 'Berth');
    assert.equal(v.Server.ApiVersion, '1.45');
    const info = await ok(['info', '--format', '{{.OSType}} {{.Images}}']);
    assert.equal(info.trim(), 'linux 1');
  });

  it('runs a container in the foreground: its output and its exit code', async () => {
    assert.equal(await ok(['run', '--rm', '--network', 'none', image, 'echo', 'hi']), 'hi\n');
    const r = await docker(['run', '--network', 'none', image, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    // --rm: the container is gone once docker run returns.
    assert.equal(await ok(['ps', '-aq', '--filter', 'status=running']), '');
  });

  it('runs -d, lists, logs, execs, stops and removes', async () => {
    const name = box.name('web');
    const id = (
      await ok([
        'run',
        '-d',
        '--name',
        name,
        '--network',
        'none',
        image,
        'sh',
        '-c',
        'echo started; exec sleep 1000',
      ])
    ).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.match(await ok(['ps', '--format', '{{.Names}} {{.State}}']), new RegExp(`^${name} running$`, 'm'));
    // run -d returns once the container runs, maybe before its first line is written.
    await until('the container wrote its first line', async () => (await ok(['logs', name])) === 'started\n');
    const exec = await docker(['exec', name, 'sh', '-c', 'echo in-exec; exit 5']);
    assert.equal(exec.code, 5);
    assert.equal(exec.stdout, 'in-exec\n');
    assert.equal(await ok(['exec', '-i', name, 'cat'], 'piped\n'), 'piped\n');
    const inspect = JSON.parse(await ok(['inspect', name])) as { Id: string; State: { Running: boolean } }[];
    assert.equal(inspect[0]!.Id, id);
    assert.equal(inspect[0]!.State.Running, true);
    await ok(['stop', '-t', '1', name]);
    assert.match(
      await ok(['ps', '-a', '--format', '{{.Names}} {{.State}}']),
      new RegExp(`^${name} exited$`, 'm'),
    );
    await ok(['rm', name]);
    const gone = await docker(['inspect', '--type', 'container', name]);
    assert.notEqual(gone.code, 0);
  });

  it('publishes a port on the default bridge (docker run -p, docker port)', async () => {
    const name = box.name('http');
    await ok([
      'run',
      '-d',
      '--name',
      name,
      '-p',
      '127.0.0.1:18080:80',
      image,
      'sh',
      '-c',
      'echo hello-http > /tmp/index.html; exec httpd -f -p 80 -h /tmp',
    ]);
    assert.equal(await ok(['port', name]), '80/tcp -> 127.0.0.1:18080\n');
    let body = '';
    await until('the published port answers', async () => {
      const r = await box.exec('timeout', ['5', 'wget', '-qO-', 'http://127.0.0.1:18080/index.html']);
      body = r.stdout;
      return r.code === 0;
    });
    assert.equal(body, 'hello-http\n');
    await ok(['rm', '-f', name]);
  });

  it('streams events between --since and --until, and logs with --tail and --timestamps', async () => {
    const since = String(Math.floor(Date.now() / 1000));
    const name = box.name('ev');
    await ok([
      'run',
      '--name',
      name,
      '--network',
      'none',
      image,
      'sh',
      '-c',
      'echo one; echo two; echo three >&2',
    ]);
    // The exit is journaled (`die`) by whoever records it first; a read of the container does.
    assert.equal((await ok(['inspect', '--format', '{{.State.Status}}', name])).trim(), 'exited');
    const end = String(Math.floor(Date.now() / 1000) + 1);
    const events = await ok([
      'events',
      '--since',
      since,
      '--until',
      end,
      '--filter',
      `container=${name}`,
      '--format',
      '{{.Type}} {{.Action}}',
    ]);
    // `docker run` attaches before it starts, as dockerd journals it.
    assert.deepEqual(events.trim().split('\n'), [
      'container create',
      'container attach',
      'container start',
      'container die',
    ]);
    const tail = await docker(['logs', '--tail', '1', name]);
    assert.equal(tail.stdout + tail.stderr, 'three\n');
    assert.match(await ok(['logs', '--timestamps', name]), /^\d{4}-\d\d-\d\dT\S+Z one\n\S+ two\n$/);
    const bad = await docker(['events', '--until', end, '--filter', 'colour=red']);
    assert.match(bad.stderr, /Error response from daemon: Invalid filter 'colour'/);
    await ok(['rm', name]);
  });

  it('passes piped stdin to docker run -i', async () => {
    assert.equal(
      await ok(
        ['run', '--rm', '-i', '--network', 'none', image, 'sh', '-c', 'cat; echo done'],
        'line 1\nline 2\n',
      ),
      'line 1\nline 2\ndone\n',
    );
  });

  it('runs docker run -it and docker exec -it under a real pty', async () => {
    const env = {
      ...process.env,
      DOCKER_HOST: `unix://${sock}`,
      DOCKER_CONFIG: join(box.dir, 'docker-config'),
    };
    const r = await run(
      'script',
      ['-eqc', `docker run -it --rm --network none ${image} sh -c 'tty; exit 7'`, '/dev/null'],
      {
        check: false,
        env,
        input: '',
      },
    );
    assert.equal(r.code, 7, r.stdout);
    assert.match(r.stdout, /\/dev\/pts\/\d+/);
    const name = box.name('tty');
    await ok(['run', '-d', '--name', name, '--network', 'none', image, 'sleep', '1000']);
    const e = await run('script', ['-eqc', `docker exec -it ${name} sh -c 'tty; exit 6'`, '/dev/null'], {
      check: false,
      env,
      input: '',
    });
    assert.equal(e.code, 6, e.stdout);
    assert.match(e.stdout, /\/dev\/pts\/\d+/);
    await ok(['rm', '-f', name]);
  });

  it('lists, tags and removes images', async () => {
    assert.match(await ok(['images', '--format', '{{.Repository}}:{{.Tag}}']), /^bb:dockerapi$/m);
    await ok(['tag', image, 'bb:other']);
    assert.match(await ok(['images', '--format', '{{.Repository}}:{{.Tag}}']), /^bb:other$/m);
    assert.match(await ok(['rmi', 'bb:other']), /Untagged: bb:other/);
  });

  it('creates, lists and removes networks and volumes', async () => {
    const net = box.name('net');
    await ok(['network', 'create', net]);
    assert.match(await ok(['network', 'ls', '--format', '{{.Name}}']), new RegExp(`^${net}$`, 'm'));
    const doc = JSON.parse(await ok(['network', 'inspect', net])) as { Name: string; Driver: string }[];
    assert.equal(doc[0]!.Driver, 'bridge');
    await ok(['network', 'rm', net]);
    assert.doesNotMatch(await ok(['network', 'ls', '--format', '{{.Name}}']), new RegExp(`^${net}$`, 'm'));
    const vol = box.name('vol');
    await ok(['volume', 'create', vol]);
    assert.match(await ok(['volume', 'ls', '--format', '{{.Name}}']), new RegExp(`^${vol}$`, 'm'));
    await ok(['volume', 'rm', vol]);
    assert.doesNotMatch(await ok(['volume', 'ls', '--format', '{{.Name}}']), new RegExp(`^${vol}$`, 'm'));
  });

  it("serves Debian's docker 20.10 (API 1.41) too", {
    skip: !debianDocker() && 'needs /usr/bin/docker 20.10',
  }, async () => {
    const env = {
      ...process.env,
      DOCKER_HOST: `unix://${sock}`,
      DOCKER_CONFIG: join(box.dir, 'docker-config'),
    };
    const v = await run('/usr/bin/docker', ['version', '--format', '{{.Client.APIVersion}}'], { env });
    assert.equal(v.stdout.trim(), '1.41');
    const r = await run(
      '/usr/bin/docker',
      ['run', '--rm', '-i', '--network', 'none', image, 'sh', '-c', 'cat; exit 4'],
      {
        check: false,
        env,
        input: 'via 1.41\n',
      },
    );
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stdout, 'via 1.41\n');
  });

  it('refuses plain TCP, and ends by itself after --time seconds without requests', async () => {
    const tcp = await box.berth(['system', 'service', 'tcp://127.0.0.1:2375']);
    assert.equal(tcp.code, 125);
    assert.match(tcp.stderr, /Refusing to serve the Docker API on "tcp:\/\/127.0.0.1:2375" without TLS/);
    const idleSock = join(box.dir, 'idle.sock');
    const idle = await box.berth(['system', 'service', `unix://${idleSock}`, '--time', '1']);
    assert.equal(idle.code, 0, idle.stderr);
    assert.equal(existsSync(idleSock), false);
  });

  it("answers errors with Docker's messages and JSON bodies", async () => {
    const missing = await docker(['logs', 'x']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), 'Error response from daemon: No such container: x');
    const unknown = await run(
      'curl',
      ['-s', '-w', '\\n%{http_code}', '--unix-socket', sock, 'http://docker/v1.45/nothing/here'],
      { check: false },
    );
    const [body, status] = unknown.stdout.split('\n');
    assert.equal(status, '404');
    assert.match((JSON.parse(body!) as { message: string }).message, /nothing\/here/);
    const tooNew = await run('curl', ['-s', '--unix-socket', sock, 'http://docker/v1.99/info'], {
      check: false,
    });
    assert.equal(
      (JSON.parse(tooNew.stdout) as { message: string }).message,
      'client version 1.99 is too new. Maximum supported API version is 1.50',
    );
  });
});
