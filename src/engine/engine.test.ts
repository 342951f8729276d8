/**
 * The engine facade as a front end other than the CLI uses it: in-process, with in-memory
 * streams and no terminal. Real containers (runc under conmon) in a sandbox, on network
 * `none`; conmon's exit command runs bin/berth, so this needs a build.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { busyboxRootfsTar } from '../../test/helpers/busybox-image.js';
import { berthBin, isRoot, type Sandbox, sandbox } from '../../test/helpers/sandbox.js';
import { until } from '../../test/helpers/until.js';
import { containerPaths } from './container/paths.js';
import { type Engine, type EngineEvent, openEngine } from './engine.js';

/** Collects what a writable receives. */
function sink(): PassThrough & { text: () => string } {
  const s = new PassThrough();
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return Object.assign(s, { text: () => Buffer.concat(chunks).toString('utf8') });
}

describe('engine facade', { skip: !isRoot && 'needs root' }, () => {
  let box: Sandbox;
  let engine: Engine;
  const image = 'bb:facade';
  const opts = (command: string[], more: Record<string, unknown> = {}) => ({
    command,
    network: 'none',
    ...more,
  });

  /** The container's whole log so far, both streams. */
  const logText = async (id: string) => {
    const parts: string[] = [];
    await engine.containers.logs(id, {}, (e) => parts.push(e.data.toString()));
    return parts.join('');
  };

  before(async () => {
    box = await sandbox(undefined);
    // Containers made in this process land under the sandbox's cgroup parent, which its cleanup removes.
    process.env.BERTH_CGROUP_PARENT = box.cgroupParent;
    engine = openEngine({ root: box.root, runroot: box.runroot, self: [process.execPath, '--', berthBin] });
    await engine.images.import(createReadStream(await busyboxRootfsTar()), { name: image });
  });
  after(async () => {
    engine?.close();
    await box?.cleanup();
  });

  it('runs without a terminal: stdout and stderr apart, the exit status, --rm leaves nothing', async () => {
    const stdout = sink();
    const stderr = sink();
    const r = await engine.containers.run(
      { image },
      opts(['sh', '-c', 'echo out; echo err >&2; exit 3'], { autoRemove: true }),
      { detach: false, stdout, stderr },
    );
    assert.equal(r.exitCode, 3);
    assert.equal(stdout.text(), 'out\n');
    assert.equal(stderr.text(), 'err\n');
    assert.equal(engine.containers.list({ all: true }).length, 0);
  });

  it('forwards stdin to run -i until it ends', async () => {
    const stdin = new PassThrough();
    const stdout = sink();
    stdin.end('line one\nline two\n');
    const r = await engine.containers.run({ image }, opts(['cat'], { openStdin: true, autoRemove: true }), {
      detach: false,
      stdin,
      stdout,
      stderr: sink(),
    });
    assert.equal(r.exitCode, 0);
    assert.equal(stdout.text(), 'line one\nline two\n');
  });

  it('attaches to a running container: input in, output out, its exit status back', async () => {
    const { id } = await engine.containers.run(
      { image },
      opts(['sh', '-c', 'read x; echo "got $x"; exit 7'], { openStdin: true }),
      { detach: true, stdout: sink(), stderr: sink() },
    );
    const stdin = new PassThrough();
    const stdout = sink();
    const done = engine.containers.attach(id, { stdin, stdout, stderr: sink() });
    stdin.end('hello\n');
    assert.equal(await done, 7);
    assert.equal(stdout.text(), 'got hello\n');
    assert.equal(engine.containers.get(id).state, 'exited');
    await engine.containers.rm(id);
  });

  it('execs with piped streams and returns the command status', async () => {
    const { id } = await engine.containers.run({ image }, opts(['sleep', '300']), {
      detach: true,
      stdout: sink(),
      stderr: sink(),
    });
    const stdin = new PassThrough();
    const stdout = sink();
    const stderr = sink();
    stdin.end('piped in\n');
    const code = await engine.containers.exec(id, {
      command: ['sh', '-c', 'cat; echo oops >&2; exit 5'],
      stdin,
      stdout,
      stderr,
      tty: false,
      detach: false,
      env: [],
      user: '',
      workdir: '',
    });
    assert.equal(code, 5);
    assert.equal(stdout.text(), 'piped in\n');
    assert.equal(stderr.text(), 'oops\n');
    await engine.containers.rm(id, { force: true });
  });

  it('runs on a root the runtime mounts: nothing on the host, the image user, cp and export while it runs, changes kept', async () => {
    const overlays = () =>
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.includes(' - overlay ') && l.includes(box.root)).length;
    const mine = opts(['sh', '-c', 'echo one > /note; id -u; sleep 300'], { privateRootfs: true });
    const { id } = await engine.containers.run({ image }, mine, {
      detach: true,
      stdout: sink(),
      stderr: sink(),
    });
    await until('the container wrote its note', async () => (await logText(id)).includes('0\n'));
    assert.equal(overlays(), 0, 'the root is mounted in the container only');
    // cp out of a running container reads through its process's root.
    const out = join(box.dir, 'note');
    await engine.containers.copyFrom(id, '/note', out);
    assert.equal(readFileSync(out, 'utf8'), 'one\n');
    const tar = join(box.dir, 'export.tar');
    const file = createWriteStream(tar);
    await engine.containers.export(id, file);
    await new Promise((resolve) => file.end(resolve));
    const names = execFileSync('tar', ['-tf', tar], { encoding: 'utf8' }).split('\n');
    // Entries are named as dockerd's export names them: `note`, not `./note`.
    assert.ok(names.includes('note'), 'export has the container’s file');
    assert.deepEqual(
      names.filter((n) => /^(proc|sys)\/./.test(n)),
      [],
      'export leaves the container’s /proc and /sys out',
    );
    await engine.containers.rm(id, { force: true });

    // The image's user, read from its passwd without a host mount; a read-only root.
    const ro = opts(['sh', '-c', 'id -u; touch /x || echo refused'], {
      privateRootfs: true,
      user: 'nobody',
      readOnly: true,
    });
    const r = await engine.containers.run({ image }, ro, { detach: false, stdout: sink(), stderr: sink() });
    assert.equal(r.exitCode, 0);
    const text = await logText(r.id);
    assert.match(text, /^65534\n/);
    assert.match(text, /refused/);

    // A restart keeps the container's changes: its second start reads a root it changed.
    const keep = opts(['sh', '-c', 'cat /note 2>/dev/null; echo two > /note'], { privateRootfs: true });
    const k = await engine.containers.run({ image }, keep, { detach: false, stdout: sink(), stderr: sink() });
    await engine.containers.start(k.id);
    assert.equal(await engine.containers.wait(k.id), 0);
    assert.match(await logText(k.id), /two\n/);
    assert.equal(overlays(), 0, 'nothing is left mounted on the host');
    await engine.containers.rm(r.id, { force: true });
    await engine.containers.rm(k.id, { force: true });
  });

  it('gives a runtime-mounted root its mount points from a shared layer, not from its own changes', async () => {
    const hosts = join(box.dir, 'hosts');
    writeFileSync(hosts, '127.0.0.1 shared\n');
    const secrets = join(box.dir, 'secrets');
    mkdirSync(secrets, { recursive: true });
    writeFileSync(join(secrets, 'token'), 'abc');
    const mine = opts(['sh', '-c', 'cat /etc/hosts /var/run/secrets/sa/token; stat -c %a /etc'], {
      privateRootfs: true,
      mounts: [
        { type: 'bind', source: hosts, destination: '/etc/hosts', readOnly: true },
        { type: 'bind', source: secrets, destination: '/var/run/secrets/sa', readOnly: true },
      ],
    });
    for (let i = 0; i < 2; i++) {
      const r = await engine.containers.run({ image }, mine, {
        detach: false,
        stdout: sink(),
        stderr: sink(),
      });
      assert.equal(r.exitCode, 0);
      assert.equal(await logText(r.id), '127.0.0.1 shared\nabc755\n');
      // The mount points were found in place: the container's own changes hold nothing.
      assert.deepEqual(readdirSync(containerPaths(engine.context, r.id).upper), []);
      await engine.containers.rm(r.id, { force: true });
    }
    assert.equal(readdirSync(join(box.root, 'init-layers')).length, 1, 'one layer for the image');
  });

  it('wait and logs --follow end when their signal aborts', async () => {
    const { id } = await engine.containers.run({ image }, opts(['sh', '-c', 'echo ready; sleep 300']), {
      detach: true,
      stdout: sink(),
      stderr: sink(),
    });
    const stop = new AbortController();
    const lines: string[] = [];
    const following = engine.containers.logs(id, { follow: true, signal: stop.signal }, (e) => {
      lines.push(e.data.toString());
      if (lines.join('').includes('ready')) stop.abort();
    });
    await following;
    assert.match(lines.join(''), /ready/);
    const waiting = new AbortController();
    const w = engine.containers.wait(id, { signal: waiting.signal });
    waiting.abort(new Error('gave up'));
    await assert.rejects(w, /gave up/);
    await engine.containers.rm(id, { force: true });
  });

  it('journals the life of a container in order, in Docker shape, and follows new events', async () => {
    const since = Date.now() - 1;
    const r = await engine.containers.run(
      { image },
      opts(['true'], { name: 'journaled', autoRemove: true }),
      {
        detach: false,
        stdout: sink(),
        stderr: sink(),
      },
    );
    assert.equal(r.exitCode, 0);
    const events = await readEvents({ since, until: Date.now() + 1, filters: { container: ['journaled'] } });
    assert.deepEqual(
      events.map((e) => e.Action),
      ['create', 'start', 'die', 'destroy'],
    );
    const die = events[2]!;
    assert.equal(die.Type, 'container');
    assert.equal(die.Actor.ID, r.id);
    assert.equal(die.Actor.Attributes.exitCode, '0');
    assert.equal(die.Actor.Attributes.name, 'journaled');
    assert.equal(die.scope, 'local');
    assert.equal(die.time, Math.floor(die.timeNano / 1e9));

    // Following: a volume made after the follow began arrives, then the abort ends it.
    const stop = new AbortController();
    const seen: EngineEvent[] = [];
    const follow = engine.system.events(
      { since: Date.now(), filters: { type: ['volume'] } },
      (e) => {
        seen.push(e);
        stop.abort();
      },
      stop.signal,
    );
    engine.volumes.create('followed');
    await follow;
    assert.deepEqual(
      seen.map((e) => [e.Action, e.Actor.ID]),
      [['create', 'followed']],
    );
  });

  async function readEvents(q: Parameters<Engine['system']['events']>[0]): Promise<EngineEvent[]> {
    const out: EngineEvent[] = [];
    await engine.system.events(q, (e) => out.push(e));
    return out;
  }
});
