/**
 * The docker CLI against `berth system service` where it answered differently from dockerd
 * (found by running the same commands against both): each check is what dockerd shows for the
 * same command, its output, its words and its exit code.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { run } from '../src/core/exec.js';
import { importBusybox } from './helpers/busybox-image.js';
import { apiHijack, type DockerService, dockerServiceSandbox, haveDocker } from './helpers/docker-service.js';
import { startRegistry } from './helpers/registry.js';
import { isRoot, type Sandbox } from './helpers/sandbox.js';
import { until } from './helpers/until.js';

describe('docker CLI answers as against dockerd', {
  skip: (!isRoot && 'needs root') || (!haveDocker && 'needs the docker CLI'),
}, () => {
  let box: Sandbox;
  let svc: DockerService;
  // No tag: Docker shows the image as it was written, `bbc`, not `bbc:latest`.
  const image = 'bbc';
  const docker = (args: string[], input?: string) => svc.docker(args, input);
  const ok = (args: string[], input?: string) => svc.ok(args, input);
  const status = async (name: string) => (await ok(['inspect', '-f', '{{.State.Status}}', name])).trim();

  before(async () => {
    ({ box, svc } = await dockerServiceSandbox(image));
  });
  after(() => box.cleanup());

  it('ends a run whose command cannot start with its status, leaving no --rm container', async () => {
    const name = box.name('missing');
    const r = await docker(['run', '--rm', '--name', name, '--network', 'none', image, 'nosuchcmd']);
    assert.equal(r.code, 127, r.stderr);
    assert.match(r.stderr, /exec: "nosuchcmd": executable file not found in \$PATH/);
    // dockerd's frame around the runtime's words.
    assert.match(
      r.stderr,
      /Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "nosuchcmd": executable file not found in \$PATH: unknown/,
    );
    assert.doesNotMatch(r.stderr, /level=error/);
    assert.notEqual((await docker(['inspect', name])).code, 0, 'the --rm container is gone');

    const user = await docker(['run', '--rm', '--network', 'none', '-u', 'nosuchuser', image, 'id']);
    assert.equal(user.code, 125);
    assert.match(user.stderr, /unable to find user nosuchuser: no matching entries in passwd file/);

    const kept = box.name('noexec');
    const r2 = await docker(['run', '--name', kept, '--network', 'none', image, '/etc/passwd']);
    assert.equal(r2.code, 126, r2.stderr);
    assert.equal(
      (await ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', kept])).trim(),
      'created 126',
    );
    await ok(['rm', kept]);
  });

  it('shows the image as it was given, and ps -l the newest container', async () => {
    const [a, b] = [box.name('first'), box.name('second')];
    await ok(['create', '--name', a, '--network', 'none', image, 'true']);
    await ok(['create', '--name', b, '--network', 'none', image, 'true']);
    // Both are likely made in the same second: the order comes from the full creation time.
    assert.equal(await ok(['ps', '-l', '--format', '{{.Names}} {{.Image}}']), `${b} ${image}\n`);
    assert.equal(await ok(['inspect', '-f', '{{.Config.Image}}', a]), `${image}\n`);
    await ok(['rm', a, b]);
  });

  it('filters ps by network, volume, before and since, and refuses a bad status', async () => {
    const [a, b] = [box.name('plain'), box.name('withvol')];
    const vol = box.name('vol');
    await ok(['create', '--name', a, '--network', 'none', image, 'true']);
    await ok(['create', '--name', b, '--network', 'none', '-v', `${vol}:/data`, image, 'true']);
    const names = async (...filters: string[]) =>
      (await ok(['ps', '-a', '--format', '{{.Names}}', ...filters.flatMap((f) => ['--filter', f])]))
        .trim()
        .split('\n')
        .filter(Boolean)
        .sort();
    assert.deepEqual(await names(`volume=${vol}`), [b]);
    assert.deepEqual(await names('volume=/data', `name=${b}`), [b]);
    assert.deepEqual(await names('network=none', `name=${a}`), [a]);
    assert.deepEqual(await names(`since=${a}`), [b]);
    assert.deepEqual(await names(`before=${b}`, `name=${a}`), [a]);
    const bad = await docker(['ps', '-a', '--filter', 'status=bogus']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Error response from daemon: Invalid filter 'status=bogus'/);
    await ok(['rm', '-v', a, b]);
    await ok(['volume', 'rm', vol]);
  });

  it('stops a paused container and one waiting to restart', async () => {
    const paused = box.name('paused');
    await ok(['run', '-d', '--name', paused, '--network', 'none', image, 'sleep', '1000']);
    await ok(['pause', paused]);
    const exec = await docker(['exec', paused, 'true']);
    assert.match(exec.stderr, new RegExp(`Container ${paused} is paused, unpause the container before exec`));
    await ok(['stop', '-t', '1', paused]);
    assert.equal(await status(paused), 'exited');

    // Its restarts back off longer each time: it is soon seen between two runs.
    const looping = box.name('looping');
    await ok([
      'run',
      '-d',
      '--name',
      looping,
      '--network',
      'none',
      '--restart',
      'always',
      image,
      'sh',
      '-c',
      'exit 1',
    ]);
    // As dockerd: `Restarting (CODE) ... ago` from the exit on (never `Exited` between two
    // runs), still Running, and the restart counted as soon as it is due.
    await until('the container waits to restart', async () =>
      /^Restarting \(1\) .* ago\n$/.test(
        await ok(['ps', '--filter', `name=${looping}`, '--format', '{{.Status}}']),
      ),
    );
    await until('inspect shows it restarting', async () => {
      const [st, running, restarting, count] = (
        await ok([
          'inspect',
          '-f',
          '{{.State.Status}} {{.State.Running}} {{.State.Restarting}} {{.RestartCount}}',
          looping,
        ])
      )
        .trim()
        .split(' ');
      return st === 'restarting' && running === 'true' && restarting === 'true' && Number(count) >= 1;
    });
    await ok(['stop', '-t', '1', looping]);
    assert.equal(await status(looping), 'exited');
    await ok(['rm', paused, looping]);
  });

  it("refuses conflicts, same-name renames, unknown signals and missing networks in dockerd's words", async () => {
    const name = box.name('taken');
    const id = (await ok(['create', '--name', name, '--network', 'none', image, 'sleep', '1000'])).trim();
    const taken = await docker(['run', '--name', name, '--network', 'none', image, 'true']);
    assert.equal(taken.code, 125);
    assert.ok(
      taken.stderr.includes(
        `Conflict. The container name "/${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`,
      ),
      taken.stderr,
    );
    const same = await docker(['rename', name, name]);
    assert.equal(same.code, 1);
    assert.match(same.stderr, /Renaming a container with the same name as its current name/);
    await ok(['start', name]);
    const sig = await docker(['kill', '-s', 'BOGUS', name]);
    assert.equal(sig.code, 1);
    assert.match(sig.stderr, /Error response from daemon: Invalid signal: BOGUS\n/);
    await ok(['rm', '-f', name]);

    // A 404 from create makes the CLI pull the image: only a missing image may be one.
    const net = await docker(['run', '--rm', '--network', 'nosuchnet', image, 'true']);
    assert.equal(net.code, 125);
    assert.match(net.stderr, /network nosuchnet not found/);
    assert.doesNotMatch(net.stderr, /Unable to find image/);
  });

  it('gives the process its primary group as a supplementary group', async () => {
    const run = (...flags: string[]) => ok(['run', '--rm', '--network', 'none', ...flags, image, 'id']);
    assert.equal(await run(), 'uid=0(root) gid=0(root) groups=0(root)\n');
    assert.equal(await run('-u', 'nobody'), 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n');
    assert.equal(await run('-u', '1234:5678'), 'uid=1234 gid=5678 groups=5678\n');
    // An exec as another user gets that user's groups, not the container process's (root's 0).
    const name = box.name('groups');
    await ok(['run', '-d', '--name', name, '--network', 'none', '-e', 'KEEP=1', image, 'sleep', '1000']);
    assert.equal(
      await ok([
        'exec',
        '-u',
        'nobody',
        '-e',
        'X=2',
        '-w',
        '/tmp',
        name,
        'sh',
        '-c',
        'id; echo $KEEP $X; pwd',
      ]),
      'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n1 2\n/tmp\n',
    );
    await ok(['rm', '-f', name]);
  });

  it('reads a logs --tail that is not a number as all lines', async () => {
    const name = box.name('tail');
    await ok(['run', '--name', name, '--network', 'none', image, 'sh', '-c', 'echo a; echo b']);
    assert.equal(await ok(['logs', '--tail', 'bad', name]), 'a\nb\n');
    assert.equal(await ok(['logs', '--tail', '1', name]), 'b\n');
    await ok(['rm', name]);
  });

  it('lists images by name, and imports with -c', async () => {
    await ok(['tag', image, 'other:v1']);
    assert.equal(await ok(['images', 'other', '--format', '{{.Repository}}:{{.Tag}}']), 'other:v1\n');
    assert.equal(
      await ok(['images', '--filter', 'reference=oth*', '--format', '{{.Repository}}:{{.Tag}}']),
      'other:v1\n',
    );
    const bad = await docker(['images', '--filter', 'bogus=1']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid filter 'bogus'/);
    const missing = await docker(['rmi', 'nosuchimage']);
    assert.match(missing.stderr, /No such image: nosuchimage:latest/);
    await ok(['rmi', 'other:v1']);

    const exported = `${box.dir}/exported.tar`;
    const made = box.name('made');
    await ok(['run', '--name', made, '--network', 'none', image, 'sh', '-c', 'echo imported > /e']);
    await ok(['export', '-o', exported, made]);
    await ok(['rm', made]);
    await ok(['import', '-c', 'CMD ["cat", "/e"]', '-c', 'ENV PATH=/bin', exported, 'imported:c']);
    assert.equal(await ok(['run', '--rm', '--network', 'none', 'imported:c']), 'imported\n');
    await ok(['rmi', 'imported:c']);
  });

  it('lists host and none with the bridges, filters networks and names their containers', async () => {
    const net = box.name('net');
    await ok(['network', 'create', '--subnet', '10.123.0.0/24', '--label', 'team=a', net]);
    const names = (await ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']))
      .trim()
      .split('\n')
      .sort();
    assert.deepEqual(names, ['bridge bridge', 'host host', `${net} bridge`, 'none null'].sort());
    assert.equal(
      await ok(['network', 'ls', '--filter', 'label=team=a', '--format', '{{.Name}}']),
      `${net}\n`,
    );
    assert.equal(
      (await ok(['network', 'ls', '--filter', 'type=builtin', '--format', '{{.Name}}']))
        .trim()
        .split('\n')
        .sort()
        .join(' '),
      'bridge host none',
    );
    assert.equal((await docker(['network', 'ls', '--filter', 'bogus=1'])).code, 1);
    assert.equal(await ok(['network', 'inspect', '-f', '{{.Driver}}', 'none']), 'null\n');

    const name = box.name('fixed');
    await ok(['run', '-d', '--name', name, '--network', net, '--ip', '10.123.0.50', image, 'sleep', '1000']);
    assert.match(
      await ok(['exec', name, 'ip', '-4', '-o', 'addr', 'show', 'eth0']),
      /inet 10\.123\.0\.50\/24/,
    );
    assert.equal(
      await ok(['network', 'inspect', '-f', '{{range .Containers}}{{.Name}}{{end}}', net]),
      `${name}\n`,
    );
    await ok(['rm', '-f', name]);
    await ok(['network', 'rm', net]);
  });

  it('creates a volume that exists as dockerd does, and filters volumes', async () => {
    const [used, spare] = [box.name('used'), box.name('spare')];
    assert.equal(await ok(['volume', 'create', '--label', 'k=v', used]), `${used}\n`);
    assert.equal(await ok(['volume', 'create', used]), `${used}\n`);
    await ok(['volume', 'create', spare]);
    const holder = box.name('holder');
    await ok(['create', '--name', holder, '--network', 'none', '-v', `${used}:/data`, image, 'true']);
    const ls = async (f: string) =>
      (await ok(['volume', 'ls', '-q', '--filter', f])).trim().split('\n').filter(Boolean);
    assert.deepEqual(await ls('label=k=v'), [used]);
    assert.ok((await ls('dangling=true')).includes(spare));
    assert.ok(!(await ls('dangling=true')).includes(used));
    assert.equal((await docker(['volume', 'ls', '--filter', 'bogus=1'])).code, 1);
    await ok(['rm', holder]);
    await ok(['volume', 'rm', used, spare]);
  });

  it('mounts a tmpfs noexec unless exec is asked for, and prunes the system', async () => {
    const mounted = (opts: string) =>
      ok([
        'run',
        '--rm',
        '--network',
        'none',
        '--tmpfs',
        `/t${opts}`,
        image,
        'sh',
        '-c',
        'grep " /t " /proc/mounts',
      ]);
    assert.match(await mounted(''), /\bnoexec\b/);
    assert.doesNotMatch(await mounted(':exec'), /\bnoexec\b/);
    const r = await docker(['system', 'prune', '-f']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Total reclaimed space/);
  });

  it('builds with the Dockerfile on stdin and a folder as the context (build -f- DIR)', async () => {
    const ctx = `${box.dir}/ctx`;
    mkdirSync(ctx);
    writeFileSync(`${ctx}/f.txt`, 'from-the-folder\n');
    // The CLI adds the Dockerfile to the folder's tar last and ends the stream right after it.
    const built = await run('docker', ['build', '-q', '-t', 'stdin:df', '-f-', ctx], {
      check: false,
      env: { ...svc.env, DOCKER_BUILDKIT: '0' },
      input: `FROM ${image}\nCOPY f.txt /f.txt\nCMD ["cat", "/f.txt"]\n`,
    });
    assert.equal(built.code, 0, built.stderr);
    assert.equal(await ok(['run', '--rm', '--network', 'none', 'stdin:df']), 'from-the-folder\n');
    await ok(['rmi', 'stdin:df']);

    // A failed RUN: the classic builder's words, and the step's status as the CLI's.
    const failed = await run('docker', ['build', '-q', '-f-', ctx], {
      check: false,
      env: { ...svc.env, DOCKER_BUILDKIT: '0' },
      input: `FROM ${image}\nRUN exit 3\n`,
    });
    assert.equal(failed.code, 3, failed.stderr);
    assert.match(failed.stderr, /The command '\/bin\/sh -c exit 3' returned a non-zero code: 3/);
  });

  it('publishes --expose ports with -P, and sizes containers for ps -s and inspect -s', async () => {
    const name = box.name('sized');
    await ok([
      'run',
      '-d',
      '--name',
      name,
      '-P',
      '--expose',
      '81',
      image,
      'sh',
      '-c',
      'head -c 100000 /dev/zero > /big; exec sleep 1000',
    ]);
    assert.match(await ok(['port', name, '81']), /^0\.0\.0\.0:\d+\n$/);
    await until(
      'the container wrote its file',
      async () => (await docker(['exec', name, 'test', '-s', '/big'])).code === 0,
    );
    const [rw, rootFs] = (await ok(['inspect', '-s', '-f', '{{.SizeRw}} {{.SizeRootFs}}', name]))
      .trim()
      .split(' ')
      .map(Number);
    assert.ok(rw! >= 100000 && rootFs! > rw!, `${rw} ${rootFs}`);
    assert.match(
      await ok(['ps', '-s', '--filter', `name=${name}`, '--format', '{{.Size}}']),
      /^\d+kB \(virtual [\d.]+MB\)\n$/,
    );
    await ok(['rm', '-f', name]);
  });

  it("runs exec -t without a stray ^@, and reports an exec that cannot start in dockerd's words", async () => {
    const name = box.name('execs');
    await ok(['run', '-d', '--name', name, '--network', 'none', image, 'sleep', '1000']);
    assert.equal(await ok(['exec', '-t', name, 'echo', 'hi']), 'hi\r\n');
    const oci = (what: string) =>
      new RegExp(`OCI runtime exec failed: exec failed: unable to start container process: ${what}: unknown`);
    const missing = await docker(['exec', name, 'nosuch']);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, oci('exec: "nosuch": executable file not found in \\$PATH'));
    // A TTY has one stream: the message is on it.
    const missingTty = await docker(['exec', '-t', name, 'nosuch']);
    assert.equal(missingTty.code, 127);
    assert.match(missingTty.stdout, oci('exec: "nosuch": executable file not found in \\$PATH'));
    assert.doesNotMatch(missingTty.stdout, /level=error|ERRO/);
    const denied = await docker(['exec', name, '/etc/passwd']);
    assert.equal(denied.code, 126);
    assert.match(denied.stderr, oci('exec: "/etc/passwd": permission denied'));
    const noDir = await docker(['exec', '-w', '/nonexist', name, 'pwd']);
    assert.equal(noDir.code, 127);
    assert.match(
      noDir.stderr,
      /chdir to cwd \("\/nonexist"\) set in config.json failed: no such file or directory/,
    );
    const user = await docker(['exec', '-u', 'nosuchuser', name, 'id']);
    assert.equal(user.code, 126);
    assert.match(user.stderr, /unable to find user nosuchuser: no matching entries in passwd file/);
    await ok(['rm', '-f', name]);
  });

  it('journals attach, exec, kill, restart and network events, and filters them by event, container and type', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const [a, b] = [box.name('eva'), box.name('evb')];
    const idA = (await ok(['run', '-d', '--name', a, image, 'sleep', '1000'])).trim();
    await ok(['exec', a, 'true']);
    await ok(['run', '--rm', '--name', b, '--network', 'none', image, 'true']);
    await ok(['restart', '-t', '1', a]);
    await ok(['rm', '-f', a]);
    // `until` is a whole second after the last event, so that every event is in the window.
    const untilS = String(Math.floor(Date.now() / 1000) + 1);
    const events = async (...filters: string[]) =>
      (
        await ok([
          'events',
          '--since',
          String(since),
          '--until',
          untilS,
          ...filters.flatMap((f) => ['--filter', f]),
          '--format',
          '{{.Type}} {{.Action}} {{index .Actor.Attributes "execID"}}{{index .Actor.Attributes "signal"}}{{index .Actor.Attributes "exitCode"}}',
        ])
      )
        .trim()
        .split('\n')
        .map((l) =>
          l
            .replace(/[0-9a-f]{64}/, 'EXECID')
            .replace(/\s+/g, ' ')
            .trim(),
        );
    await until('the last events are journaled', async () =>
      (await events(`container=${a}`)).includes('container destroy'),
    );
    assert.deepEqual(await events(`container=${a}`), [
      'container create',
      'container start',
      'container exec_create: true EXECID',
      'container exec_start: true EXECID',
      'container exec_die EXECID0',
      'container kill 15',
      'container kill 9',
      'container die 137',
      'container stop',
      'container start',
      'container restart',
      'container kill 9',
      'container die 137',
      'container destroy',
    ]);
    // `docker run` attaches before it starts; a --rm container is destroyed once.
    assert.deepEqual(await events(`container=${b}`), [
      'container create',
      'container attach',
      'container start',
      'container die 0',
      'container destroy',
    ]);
    assert.deepEqual(await events(`container=${b}`, 'event=destroy', 'event=start'), [
      'container start',
      'container destroy',
    ]);
    // The bridge network's endpoint of `a`, one per run, around its start and its die.
    const net = (
      await ok([
        'events',
        '--since',
        String(since),
        '--until',
        untilS,
        '--filter',
        'type=network',
        '--format',
        '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.container}}',
      ])
    )
      .trim()
      .split('\n')
      .filter((l) => l.endsWith(` ${idA}`))
      .map((l) => l.slice(0, -idA.length - 1));
    assert.deepEqual(net, ['connect bridge', 'disconnect bridge', 'connect bridge', 'disconnect bridge']);
    const bad = await docker(['events', '--until', untilS, '--filter', 'bogus=1']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid filter 'bogus'/);
  });

  it("refuses bad run options and conflicting operations in dockerd's words", async () => {
    const refused = async (args: string[], code: number, text: string) => {
      const r = await docker(args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.includes(text), `${args.join(' ')}: ${r.stderr}`);
    };
    const run = (...flags: string[]) => ['run', '--rm', '--network', 'none', ...flags, image, 'true'];
    await refused(run('--cap-add', 'BOGUS'), 125, 'invalid CapAdd: unknown capability: "CAP_BOGUS"');
    await refused(run('--memory', '1k'), 125, 'Minimum memory limit allowed is 6MB');
    await refused(
      ['run', '-d', '--restart', 'bogus', '--network', 'none', image, 'true'],
      125,
      "invalid restart policy: unknown policy 'bogus'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'",
    );
    await refused(
      run('--name', 'a b'),
      125,
      'Invalid container name (a b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed',
    );
    await refused(run('-v', 'relative:/x:zz'), 125, 'invalid mode: zz');

    // Messages that name a container name it by its full ID.
    const [a, b] = [box.name('held'), box.name('other')];
    const id = (await ok(['run', '-d', '--name', a, '--network', 'none', image, 'sleep', '1000'])).trim();
    await ok(['create', '--name', b, '--network', 'none', image, 'true']);
    await refused(['rm', a], 1, `You cannot remove a running container ${id}. Stop the container`);
    await refused(
      ['rename', b, a],
      1,
      `Error when allocating new name: Conflict. The container name "/${a}" is already in use by container "${id}"`,
    );
    await ok(['pause', a]);
    await refused(['pause', a], 1, `Container ${id} is already paused`);
    await refused(['start', a], 1, 'cannot start a paused container, try unpause instead');
    await refused(
      ['rename', a, 'bad name'],
      1,
      'Error when allocating new name: Invalid container name (/bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed',
    );
    await ok(['unpause', a]);
    await refused(['update', '--memory', '1k', a], 1, 'Minimum memory limit allowed is 6MB');
    await ok(['stop', '-t', '0', a]);
    await refused(['kill', a], 1, `Cannot kill container: ${a}: Container ${id} is not running`);
    await refused(['top', a], 1, `Container ${id} is not running`);
    await ok(['rm', a, b]);
  });

  it("fills inspect with dockerd's zero values, and refuses image, volume and network removals in its words", async () => {
    const name = box.name('zeros');
    await ok(['create', '--name', name, '--network', 'none', '-p', '80', '--expose', '81', image, 'true']);
    assert.equal(
      await ok([
        'inspect',
        '-f',
        '{{.HostConfig.MemorySwap}} {{.HostConfig.IpcMode}} {{.HostConfig.CpusetCpus}}|{{.HostConfig.OomKillDisable}} {{index .HostConfig.ReadonlyPaths 0}} {{.Config.ExposedPorts}} {{.ExecIDs}}',
        name,
      ]),
      '0 private |false /proc/bus map[80/tcp:{} 81/tcp:{}] []\n',
    );
    await ok(['rm', name]);

    // rmi by ID: a running user cannot be forced, several names and a stopped user must be.
    await ok(['tag', image, 'twice:1']);
    const imageId = (await ok(['inspect', '-f', '{{.Id}}', image])).trim().slice(7, 19);
    const user = box.name('user');
    const userId = (
      await ok(['run', '-d', '--name', user, '--network', 'none', 'twice:1', 'sleep', '1000'])
    ).trim();
    for (const force of [[], ['-f']]) {
      const r = await docker(['rmi', ...force, imageId]);
      assert.equal(r.code, 1);
      assert.ok(
        r.stderr.includes(
          `conflict: unable to delete ${imageId} (cannot be forced) - image is being used by running container ${userId.slice(0, 12)}`,
        ),
        r.stderr,
      );
    }
    await ok(['rm', '-f', user]);
    const multi = await docker(['rmi', imageId]);
    assert.ok(
      multi.stderr.includes(
        `conflict: unable to delete ${imageId} (must be forced) - image is referenced in multiple repositories`,
      ),
      multi.stderr,
    );
    const stopped = box.name('stopped');
    const stoppedId = (
      await ok(['create', '--name', stopped, '--network', 'none', 'twice:1', 'true'])
    ).trim();
    await ok(['rmi', image]);
    const byName = await docker(['rmi', 'twice:1']);
    assert.ok(
      byName.stderr.includes(
        `conflict: unable to remove repository reference "twice:1" (must force) - container ${stoppedId.slice(0, 12)} is using its referenced image ${imageId}`,
      ),
      byName.stderr,
    );
    await ok(['tag', 'twice:1', image]);
    await ok(['rm', stopped]);
    await ok(['rmi', 'twice:1']);

    const vol = box.name('busyvol');
    const holder = box.name('holder');
    await ok(['volume', 'create', vol]);
    const holderId = (
      await ok(['create', '--name', holder, '--network', 'none', '-v', `${vol}:/x`, image, 'true'])
    ).trim();
    const busy = await docker(['volume', 'rm', vol]);
    assert.ok(busy.stderr.includes(`remove ${vol}: volume is in use - [${holderId}]`), busy.stderr);
    await ok(['rm', holder]);
    await ok(['volume', 'rm', vol]);
    assert.match((await docker(['volume', 'rm', vol])).stderr, new RegExp(`get ${vol}: no such volume`));

    const net = box.name('dupnet');
    await ok(['network', 'create', net]);
    assert.match(
      (await docker(['network', 'create', net])).stderr,
      new RegExp(`network with name ${net} already exists`),
    );
    await ok(['network', 'rm', net]);
  });

  it('records an import as dockerd does, and logs in to a registry through the service', async () => {
    const exported = `${box.dir}/plain.tar`;
    const made = box.name('plain');
    await ok(['create', '--name', made, '--network', 'none', image, 'true']);
    await ok(['export', '-o', exported, made]);
    await ok(['rm', made]);
    // Entries are named as dockerd's export names them: `bin/`, not `./bin/`, and no `./`.
    const names = (await run('tar', ['-tf', exported])).stdout.split('\n');
    assert.ok(names.includes('bin/') && names.includes('etc/passwd'), names.slice(0, 5).join(' '));
    assert.ok(!names.some((n) => n.startsWith('./')), names.slice(0, 5).join(' '));
    await ok(['import', exported, 'plain:1']);
    await ok(['import', '-m', 'hello', exported, 'plain:2']);
    const history = async (ref: string) => ok(['history', '--format', '{{.CreatedBy}}|{{.Comment}}', ref]);
    assert.equal(await history('plain:1'), '|Imported from -\n');
    assert.equal(await history('plain:2'), '|hello\n');
    await ok(['rmi', 'plain:1', 'plain:2']);

    const reg = await startRegistry(box, { user: 'alice', password: 's3cret' });
    const login = (password: string) =>
      docker(['login', '-u', 'alice', '--password-stdin', reg.host], `${password}\n`);
    const bad = await login('wrong');
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      new RegExp(
        `login attempt to http://${reg.host.replace(/\./g, '\\.')}/v2/ failed with status: 401 Unauthorized`,
      ),
    );
    const good = await login('s3cret');
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /Login Succeeded/);

    // A tag the registry does not have is an HTTP error before any progress, in dockerd's words.
    const missing = await docker(['pull', `${reg.host}/nosuch:1`]);
    assert.equal(missing.code, 1);
    assert.ok(
      missing.stderr.includes(
        `Error response from daemon: manifest for ${reg.host}/nosuch:1 not found: manifest unknown: manifest unknown`,
      ),
      missing.stderr,
    );
    const push = await docker(['push', `${reg.host}/nothere:1`]);
    assert.equal(push.code, 1);
    assert.match(push.stdout, new RegExp(`The push refers to repository \\[${reg.host}/nothere\\]`));
    assert.ok(
      push.stderr.includes(`An image does not exist locally with the tag: ${reg.host}/nothere`),
      push.stderr,
    );
  });

  it("lists commands, volumes and images as dockerd does, and counts a container's network traffic", async () => {
    const name = box.name('listed');
    const vol = box.name('listedvol');
    await ok(['run', '-d', '--name', name, '-v', `${vol}:/data`, image, 'sh', '-c', 'sleep 1000']);
    assert.equal(
      await ok([
        'ps',
        '--no-trunc',
        '--filter',
        `name=${name}`,
        '--format',
        '{{.Command}} {{.LocalVolumes}}',
      ]),
      `"sh -c 'sleep 1000'" 1\n`,
    );
    // Counted only by `system df`: the list shows N/A, as dockerd's does.
    assert.match(await ok(['images', '--format', '{{.Containers}}', image]), /^N\/A\n$/);
    const gateway = (await ok(['inspect', '-f', '{{.NetworkSettings.Gateway}}', name])).trim();
    await ok(['exec', name, 'ping', '-c', '1', '-W', '2', gateway]);
    const [rx, tx] = (await ok(['stats', '--no-stream', '--format', '{{.NetIO}}', name])).trim().split(' / ');
    assert.notEqual(rx, '0B');
    assert.notEqual(tx, '0B');
    assert.doesNotMatch(await ok(['info', '--format', '{{.OperatingSystem}}']), /^linux$/);
    await ok(['exec', name, 'sh', '-c', 'head -c 50000 /dev/zero > /data/f']);
    // Sized as dockerd sizes volumes: the files' bytes.
    assert.match(await ok(['system', 'df', '-v']), new RegExp(`${vol}\\s+1\\s+50kB\\n`));
    await ok(['rm', '-f', '-v', name]);
    await ok(['volume', 'rm', vol]);
  });

  it('gives -v /PATH an anonymous volume, removed with rm -v and with --rm', async () => {
    const volumes = async () => (await ok(['volume', 'ls', '-q'])).trim().split('\n').filter(Boolean);
    const before = await volumes();
    const name = box.name('anon');
    await ok([
      'run',
      '--name',
      name,
      '--network',
      'none',
      '-v',
      '/data',
      image,
      'sh',
      '-c',
      'echo x > /data/f',
    ]);
    const [type, dest, volume] = (
      await ok(['inspect', '-f', '{{range .Mounts}}{{.Type}} {{.Destination}} {{.Name}}{{end}}', name])
    )
      .trim()
      .split(' ');
    assert.equal(`${type} ${dest}`, 'volume /data');
    assert.deepEqual(
      (await volumes()).filter((v) => !before.includes(v)),
      [volume],
    );
    await ok(['rm', '-v', name]);
    assert.deepEqual(await volumes(), before);
    await ok(['run', '--rm', '--network', 'none', '-v', '/data', image, 'true']);
    assert.deepEqual(await volumes(), before);
  });

  it('prunes only what the until and label filters select, and refuses a filter it does not know', async () => {
    const [kept, labelled] = [box.name('kept'), box.name('labelled')];
    const keptId = (await ok(['create', '--name', kept, '--network', 'none', image, 'true'])).trim();
    const labelledId = (
      await ok(['create', '--name', labelled, '--label', 'prune=yes', '--network', 'none', image, 'true'])
    ).trim();
    const bad = await docker(['container', 'prune', '-f', '--filter', 'bogus=1']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid filter 'bogus'/);
    // Made just now: nothing was created an hour ago.
    assert.doesNotMatch(await ok(['container', 'prune', '-f', '--filter', 'until=1h']), /Deleted/);
    const pruned = await ok(['container', 'prune', '-f', '--filter', 'label=prune=yes']);
    assert.ok(pruned.includes(labelledId) && !pruned.includes(keptId), pruned);
    await ok(['rm', kept]);

    const [netA, netB] = [box.name('pna'), box.name('pnb')];
    await ok(['network', 'create', '--label', 'prune=yes', netA]);
    await ok(['network', 'create', netB]);
    const nets = await ok(['network', 'prune', '-f', '--filter', 'label!=prune']);
    assert.ok(nets.includes(netB) && !nets.includes(netA), nets);
    await ok(['network', 'rm', netA]);

    const [volA, volB] = [box.name('pva'), box.name('pvb')];
    await ok(['volume', 'create', '--label', 'prune=yes', volA]);
    await ok(['volume', 'create', volB]);
    // Without --all only anonymous volumes go (API 1.42 on).
    assert.doesNotMatch(await ok(['volume', 'prune', '-f']), new RegExp(`${volA}|${volB}`));
    const vols = await ok(['volume', 'prune', '-a', '-f', '--filter', 'label=prune=yes']);
    assert.ok(vols.includes(volA) && !vols.includes(volB), vols);
    await ok(['volume', 'rm', volB]);

    // `image prune -a` (dangling=false) takes unused tagged images; `until` keeps new ones.
    await ok(['tag', image, 'unused:1']);
    await ok(['rmi', image]);
    assert.doesNotMatch(await ok(['image', 'prune', '-a', '-f', '--filter', 'until=1h']), /unused:1/);
    const images = await ok(['image', 'prune', '-a', '-f']);
    assert.match(images, /untagged: unused:1/);
    await importBusybox(box, image);
  });

  it('detaches an API client that sends Ctrl-P Ctrl-Q on a terminal, leaving the container running', async () => {
    const name = box.name('detachable');
    const since = String(Math.floor(Date.now() / 1000) - 1);
    await ok(['run', '-dit', '--name', name, '--network', 'none', image, 'sh']);
    const { socket, output } = await apiHijack(
      svc.sock,
      `/containers/${name}/attach?stream=1&stdin=1&stdout=1`,
      // No body: what follows the headers is the container's input.
      undefined,
    );
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('echo attached-$((40+2))\n');
    await until('the shell answers', async () => output().includes('attached-42'));
    socket.write(Buffer.from([0x10, 0x11]));
    await closed;
    assert.equal(await status(name), 'running');
    const untilS = String(Math.floor(Date.now() / 1000) + 1);
    const actions = await ok([
      'events',
      '--since',
      since,
      '--until',
      untilS,
      '--filter',
      `container=${name}`,
      '--format',
      '{{.Action}}',
    ]);
    assert.match(actions, /attach\ndetach\n/);
    // Bad keys are refused before the connection is taken over.
    await assert.rejects(
      apiHijack(svc.sock, `/containers/${name}/attach?stream=1&stdin=1&detachKeys=ctrl-1`, undefined),
      /expected an upgrade, got 400/,
    );
    await ok(['rm', '-f', name]);
  });
});
