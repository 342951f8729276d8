/**
 * `cp` on real containers (runc under conmon): volumes, bind mounts and the engine's /etc
 * files are reached as the container sees them, `-` streams a tar either way, and a symlink
 * inside the container never leads a copy out to the host's files. The reference is Docker's
 * documented `docker cp` behaviour (docs.docker.com/reference/cli/docker/container/cp),
 * quoted in each test.
 */
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runDetached, unpackBusybox } from './helpers/busybox-image.js';
import { berthBin, isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

describe('cp between the host and containers', { skip: !isRoot && 'needs root' }, () => {
  let box: Sandbox;
  let rootfs: string;
  let hostDir: string;
  let name: string;

  const berth = async (args: string[]) => (await box.ok(args)).trim();
  /** A berth command in a shell pipeline (for tar streams). */
  const shell = async (script: string) => {
    const r = await box.exec('sh', ['-c', script], { env: box.env });
    assert.equal(r.code, 0, `${script}: ${r.stderr}`);
    return r.stdout;
  };
  const cli = () => `${berthBin} --root ${box.root} --runroot ${box.runroot}`;

  before(async () => {
    box = await sandbox(undefined);
    rootfs = await unpackBusybox(box);
    hostDir = join(box.dir, 'bound');
    mkdirSync(hostDir);
    name = box.name('cp');
    await berth(['volume', 'create', `${name}-vol`]);
    await runDetached(box, rootfs, name, [
      ...['-h', 'cphost', '-v', `${name}-vol:/data`],
      ...['-v', `${hostDir}:/bound`, '-v', `${name}-ro:/ro:ro`],
    ]);
  });
  after(() => box.cleanup());

  it('reaches files on a volume and a bind mount, both ways, running or stopped', async () => {
    // Docker: cp works on the container's filesystem as its processes see it, volumes included
    // ("docker cp" of a path on a volume reads and writes the volume), and on stopped containers.
    await berth(['exec', name, 'sh', '-c', 'echo from-volume > /data/f; echo from-bind > /bound/b']);
    const out = join(box.dir, 'out-running');
    await berth(['cp', `${name}:/data/f`, out]);
    assert.equal(readFileSync(out, 'utf8'), 'from-volume\n');
    const src = join(box.dir, 'payload');
    writeFileSync(src, 'from-host\n');
    await berth(['cp', src, `${name}:/data/`]);
    await berth(['cp', src, `${name}:/bound/copied`]);
    assert.equal(
      await berth(['exec', name, 'cat', '/data/payload', '/bound/copied']),
      'from-host\nfrom-host',
    );
    assert.equal(readFileSync(join(hostDir, 'copied'), 'utf8'), 'from-host\n');
    const ro = await box.berth(['cp', src, `${name}:/ro/`]);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /mounted volume is marked read-only/);

    await berth(['stop', '-t', '0', name]);
    const outStopped = join(box.dir, 'out-stopped');
    await berth(['cp', `${name}:/data/payload`, outStopped]);
    assert.equal(readFileSync(outStopped, 'utf8'), 'from-host\n');
    await berth(['cp', `${name}:/bound/b`, outStopped]);
    assert.equal(readFileSync(outStopped, 'utf8'), 'from-bind\n');
    writeFileSync(src, 'while stopped\n');
    await berth(['cp', src, `${name}:/data/stopped`]);
    await berth(['start', name]);
    assert.equal(await berth(['exec', name, 'cat', '/data/stopped']), 'while stopped');
  });

  it("sees the container's own /etc/hosts, /etc/hostname and /etc/resolv.conf, and writes them in place", async () => {
    // Docker: these files are the container's (its hostname and localhost entries), not the
    // image's empty or missing ones; a copy over /etc/hosts is what the container then reads.
    const out = join(box.dir, 'etc-out');
    mkdirSync(out);
    await berth(['cp', `${name}:/etc/hostname`, out]);
    assert.equal(readFileSync(join(out, 'hostname'), 'utf8'), 'cphost\n');
    await berth(['cp', `${name}:/etc/hosts`, out]);
    assert.match(readFileSync(join(out, 'hosts'), 'utf8'), /localhost/);
    await berth(['cp', `${name}:/etc/resolv.conf`, out]);
    const hosts = join(box.dir, 'hosts');
    writeFileSync(hosts, '127.0.0.1 localhost\n10.9.9.9 added.example\n');
    await berth(['cp', hosts, `${name}:/etc/hosts`]);
    assert.match(await berth(['exec', name, 'cat', '/etc/hosts']), /10\.9\.9\.9 added\.example/);
  });

  it('streams a tar to stdout with `cp CTR:PATH -` and reads one from stdin with `cp - CTR:PATH`', async () => {
    // Docker: "Use '-' as the source to read a tar archive from stdin and extract it to a
    // directory destination in a container. Use '-' as the destination to stream a tar
    // archive of a container source to stdout." The archive's entries start with the source's name.
    await berth(['exec', name, 'sh', '-c', 'mkdir -p /data/tree/sub && echo deep > /data/tree/sub/x']);
    const listing = await shell(`${cli()} cp ${name}:/data/tree - | tar -tvf -`);
    assert.match(listing, /tree\/sub\/x/);
    const tarDir = join(box.dir, 'tar-in');
    mkdirSync(join(tarDir, 'pkg'), { recursive: true });
    writeFileSync(join(tarDir, 'pkg', 'file'), 'in a tar\n');
    await shell(`tar -C ${tarDir} -cf - pkg | ${cli()} cp - ${name}:/data`);
    assert.equal(await berth(['exec', name, 'cat', '/data/pkg/file']), 'in a tar');
    const notDir = await box.exec(
      'sh',
      ['-c', `tar -C ${tarDir} -cf - pkg | ${cli()} cp - ${name}:/data/tree/sub/x`],
      { check: false },
    );
    assert.notEqual(notDir.code, 0);
    assert.match(notDir.stderr, new RegExp(`destination "${name}:/data/tree/sub/x" must be a directory`));
  });

  it('gives what it copies to root in the container and to the caller on the host, unless -a', async () => {
    // Docker: "files copied to the container are created with UID:GID of the root user. Files
    // copied to the local machine are created with the UID:GID of the user which invoked the
    // docker cp command. However, if you specify the -a option, docker cp sets the ownership
    // to the user and primary group at the source."
    const src = join(box.dir, 'owned');
    writeFileSync(src, 'owned\n');
    chownSync(src, 1234, 4321);
    await berth(['cp', src, `${name}:/tmp/own-default`]);
    await berth(['cp', '-a', src, `${name}:/tmp/own-kept`]);
    assert.equal(
      await berth(['exec', name, 'stat', '-c', '%u:%g', '/tmp/own-default', '/tmp/own-kept']),
      '0:0\n1234:4321',
    );
    const out = join(box.dir, 'own-out');
    await berth(['cp', `${name}:/tmp/own-kept`, out]);
    assert.equal(`${statSync(out).uid}:${statSync(out).gid}`, `${process.getuid!()}:${process.getgid!()}`);
    await berth(['cp', '-a', `${name}:/tmp/own-kept`, `${out}-a`]);
    assert.equal(`${statSync(`${out}-a`).uid}:${statSync(`${out}-a`).gid}`, '1234:4321');
  });

  it('copies symlinks as links and resolves paths inside the container, never on the host', async () => {
    // Docker: a symlink in the source is copied as a link (with -L, its target); a path that
    // goes through a symlink is resolved as the container would, so an absolute link target
    // means the container's file, not the host's.
    await berth([
      'exec',
      name,
      'sh',
      '-c',
      'mkdir -p /tmp/d && ln -sf /etc/shadow /tmp/d/link && ln -sfn / /tmp/root && ln -sf /etc/hostname /tmp/hn && echo mine > /tmp/d/f',
    ]);
    const out = join(box.dir, 'links');
    mkdirSync(out);
    await berth(['cp', `${name}:/tmp/d`, out]);
    assert.equal(readlinkSync(join(out, 'd/link')), '/etc/shadow');
    assert.equal(readFileSync(join(out, 'd/f'), 'utf8'), 'mine\n');
    await berth(['cp', `${name}:/tmp/root/etc/hostname`, join(out, 'via-link')]);
    assert.equal(readFileSync(join(out, 'via-link'), 'utf8'), 'cphost\n');
    await berth(['cp', `${name}:/tmp/hn`, join(out, 'hn')]);
    assert.equal(readlinkSync(join(out, 'hn')), '/etc/hostname');
    await berth(['cp', '-L', `${name}:/tmp/hn`, join(out, 'followed')]);
    assert.equal(readFileSync(join(out, 'followed'), 'utf8'), 'cphost\n');
    const both = await box.berth(['cp', `${name}:/a`, `${name}:/b`]);
    assert.match(both.stderr, /copying between containers is not supported/);
    const none = await box.berth(['cp', 'a', 'b']);
    assert.match(none.stderr, /must specify at least one container source/);
  });
});
