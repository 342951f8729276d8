/**
 * The real docker CLI against `berth system service`, for the container operations beyond
 * run: cp (directories and symlinks, both ways), stats, top, pause/unpause, rename, diff,
 * commit, export/import and save; and docker-py (python3-docker) run and logs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../src/core/exec.js';
import { type DockerService, dockerServiceSandbox, haveDocker } from './helpers/docker-service.js';
import { isRoot, type Sandbox } from './helpers/sandbox.js';

const haveDockerPy = spawnSync('python3', ['-c', 'import docker']).status === 0;

describe('docker CLI against berth system service: files and container operations', {
  skip: (!isRoot && 'needs root') || (!haveDocker && 'needs the docker CLI'),
}, () => {
  let box: Sandbox;
  let svc: DockerService;
  const image = 'bb:dockerfiles';
  /** A detached busybox container that sleeps; its name. */
  const sleeper = async (prefix: string) => {
    const name = box.name(prefix);
    await svc.ok(['run', '-d', '--name', name, '--network', 'none', image, 'sleep', '1000']);
    return name;
  };

  before(async () => {
    ({ box, svc } = await dockerServiceSandbox(image));
  });
  after(() => box.cleanup());

  it('copies a folder and a symlink into a container (docker cp HOST CTR:PATH)', async () => {
    const name = await sleeper('cpin');
    const src = join(box.dir, 'cpin', 'tree');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'sub', 'a.txt'), 'alpha\n');
    symlinkSync('sub/a.txt', join(src, 'link'));
    // Into an existing folder: under its own name.
    await svc.ok(['cp', src, `${name}:/tmp`]);
    assert.equal(await svc.ok(['exec', name, 'cat', '/tmp/tree/sub/a.txt']), 'alpha\n');
    assert.equal(await svc.ok(['exec', name, 'readlink', '/tmp/tree/link']), 'sub/a.txt\n');
    // To a new name: the folder becomes it.
    await svc.ok(['cp', src, `${name}:/tmp/renamed`]);
    assert.equal(await svc.ok(['exec', name, 'cat', '/tmp/renamed/link']), 'alpha\n');
    // A symlink alone stays a link.
    await svc.ok(['cp', join(src, 'link'), `${name}:/tmp/alone`]);
    assert.equal(await svc.ok(['exec', name, 'readlink', '/tmp/alone']), 'sub/a.txt\n');
    const missing = await svc.docker(['cp', src, `${name}:/no/such/dir/x`]);
    assert.notEqual(missing.code, 0);
  });

  it('copies a folder and a symlink out of a container (docker cp CTR:PATH HOST)', async () => {
    const name = await sleeper('cpout');
    await svc.ok([
      'exec',
      name,
      'sh',
      '-c',
      'mkdir -p /srv/d/e && echo beta > /srv/d/e/b.txt && ln -s d/e/b.txt /srv/lnk',
    ]);
    const out = join(box.dir, 'cpout');
    mkdirSync(out);
    await svc.ok(['cp', `${name}:/srv/d`, out]);
    assert.equal(readFileSync(join(out, 'd', 'e', 'b.txt'), 'utf8'), 'beta\n');
    await svc.ok(['cp', `${name}:/srv/lnk`, join(out, 'lnk')]);
    assert.ok(lstatSync(join(out, 'lnk')).isSymbolicLink());
    assert.equal(readlinkSync(join(out, 'lnk')), 'd/e/b.txt');
    // -L follows the link to its file.
    await svc.ok(['cp', '-L', `${name}:/srv/lnk`, join(out, 'followed')]);
    assert.equal(readFileSync(join(out, 'followed'), 'utf8'), 'beta\n');
    const missing = await svc.docker(['cp', `${name}:/no/such`, out]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Could not find the file \/no\/such/);
  });

  it('shows stats --no-stream and top, pauses, unpauses and renames', async () => {
    const name = await sleeper('ops');
    const stats = await svc.ok([
      'stats',
      '--no-stream',
      '--format',
      '{{.Name}} {{.PIDs}} {{.MemUsage}}',
      name,
    ]);
    assert.match(stats, new RegExp(`^${name} \\d+ [\\d.]+[KMG]i?B / [\\d.]+[KMG]i?B\\n$`));
    assert.match(await svc.ok(['top', name]), /sleep 1000/);
    await svc.ok(['pause', name]);
    assert.equal(await svc.ok(['inspect', '--format', '{{.State.Status}}', name]), 'paused\n');
    await svc.ok(['unpause', name]);
    assert.equal(await svc.ok(['inspect', '--format', '{{.State.Status}}', name]), 'running\n');
    const renamed = `${name}-new`;
    await svc.ok(['rename', name, renamed]);
    assert.match(await svc.ok(['ps', '--format', '{{.Names}}']), new RegExp(`^${renamed}$`, 'm'));
    await svc.ok(['update', '--memory', '64m', '--memory-swap', '-1', renamed]);
    assert.equal(
      await svc.ok(['inspect', '--format', '{{.HostConfig.Memory}}', renamed]),
      `${64 * 1024 * 1024}\n`,
    );
    await svc.ok(['rm', '-f', renamed]);
  });

  it('diffs and commits a container, exports and imports it, saves the image', async () => {
    const name = await sleeper('commit');
    await svc.ok(['exec', name, 'sh', '-c', 'echo committed > /made.txt']);
    assert.match(await svc.ok(['diff', name]), /^A \/made\.txt$/m);
    const committed = `${box.name('img')}:c`;
    const id = (await svc.ok(['commit', name, committed])).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const cat = ['run', '--rm', '--network', 'none'];
    assert.equal(await svc.ok([...cat, committed, 'cat', '/made.txt']), 'committed\n');

    const exported = join(box.dir, 'export.tar');
    await svc.ok(['export', '-o', exported, name]);
    const imported = `${box.name('img')}:imp`;
    await svc.ok(['import', exported, imported]);
    assert.equal(await svc.ok([...cat, imported, 'cat', '/made.txt']), 'committed\n');

    const saved = join(box.dir, 'save.tar');
    await svc.ok(['save', '-o', saved, committed]);
    assert.ok(lstatSync(saved).size > 0);
    assert.match(await svc.ok(['history', committed]), /\n.*\n/);
    await svc.ok(['rm', '-f', name]);
  });

  it('answers docker system df', async () => {
    assert.match(await svc.ok(['system', 'df']), /^Images\s+\d+\s+\d+/m);
  });

  it('runs a container and reads its logs with docker-py', {
    skip: !haveDockerPy && 'needs python3-docker',
  }, async () => {
    const script = `
import docker, sys
c = docker.DockerClient(base_url=sys.argv[1])
# detach=True, then wait and logs (run without detach is tested in docker-api-build.test.ts).
r = c.containers.run(sys.argv[2], ["sh", "-c", "echo from-py"], network_mode="none", detach=True)
assert r.wait()["StatusCode"] == 0
sys.stdout.write(r.logs().decode())
r.remove()
d = c.containers.run(sys.argv[2], ["sh", "-c", "echo detached; sleep 1000"], network_mode="none", detach=True)
for line in d.logs(stream=True, follow=True):
    sys.stdout.write(line.decode())
    break
d.remove(force=True)
`;
    const r = await run('python3', ['-c', script, svc.env.DOCKER_HOST!, image], { check: false });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'from-py\ndetached\n');
  });
});
