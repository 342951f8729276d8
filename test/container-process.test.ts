/**
 * What runs in a container and what it prints, on real containers (runc under conmon): `top`
 * with ps options, terminal resizes reaching an `exec -it`, and log rotation with max-file.
 * The reference for each case is Docker's documented behaviour, quoted in the test.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runDetached, unpackBusybox } from './helpers/busybox-image.js';
import { berthBin, isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';
import { expectFollowsResize, onTerminal } from './helpers/terminal.js';
import { until } from './helpers/until.js';

describe('top, exec terminals and log rotation', { skip: !isRoot && 'needs root' }, () => {
  let box: Sandbox;
  let rootfs: string;

  before(async () => {
    box = await sandbox(undefined);
    rootfs = await unpackBusybox(box);
  });
  after(() => box.cleanup());

  const berth = async (args: string[]) => (await box.ok(args)).trim();

  it("top passes ps options to ps, keeps its columns and the container's processes only", async () => {
    // Docker: `docker top CONTAINER [ps OPTIONS]` runs ps with those options (default -ef) and
    // shows the rows of the container's processes under ps's own header; ps's complaint about
    // a bad option comes back as the error.
    const name = box.name('top');
    await runDetached(box, rootfs, name, [], ['sh', '-c', 'sleep 1001; true']);
    const def = (await berth(['top', name])).split('\n');
    assert.match(def[0]!, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    assert.ok(def.some((l) => /sleep 1001$/.test(l)));
    assert.ok(!def.some((l) => /\bnode\b/.test(l)), 'no host process is listed');
    const custom = (await berth(['top', name, '-o', 'pid,user,args'])).split('\n');
    assert.match(custom[0]!, /^PID\s+USER\s+COMMAND$/);
    assert.ok(custom.slice(1).every((l) => /^\d+\s+root\s+/.test(l)));
    assert.ok(custom.some((l) => /sh -c sleep 1001; true$/.test(l)));
    assert.ok(custom.some((l) => /\d+\s+root\s+sleep 1001$/.test(l)));
    const aux = (await berth(['top', name, 'aux'])).split('\n');
    assert.match(aux[0]!, /^USER\s+PID\s+%CPU\s+%MEM/);
    const bad = await box.berth(['top', name, '--no-such-option']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /ps: error: /);
    const renamed = await box.berth(['top', name, '-o', 'ppid=PID']);
    assert.match(renamed.stderr, /specifying "ppid=PID" is not allowed/);
  });

  it('exec -it follows the terminal when it is resized', async () => {
    // Docker: "docker exec -it" gives the command a terminal of the client's size and passes
    // every later window size change (SIGWINCH) on to it.
    const name = box.name('winch');
    await runDetached(box, rootfs, name, []);
    // The user's terminal (script's) changes size: the kernel sends SIGWINCH to the exec.
    await expectFollowsResize(
      box,
      `${berthBin} --root ${box.root} --runroot ${box.runroot} exec -it ${name}`,
    );
  });

  it("run -it puts the terminal in raw mode: the container pty's line ends arrive unchanged", async () => {
    // Docker's CLI makes the local terminal raw (no output processing) for -t, so a
    // container's "\r\n" is shown as it is, not as "\r\r\n".
    // On a terminal whose input stays open: an input that ended would reach the container's
    // raw terminal as an end-of-file character, echoed as ^@ between the lines.
    const t = onTerminal(
      box,
      `${berthBin} --root ${box.root} --runroot ${box.runroot} run -it --rm --network none --rootfs ${rootfs} sh -c 'echo one; echo two'`,
      { rows: 24, columns: 80 },
    );
    assert.equal(await t.exited, 0, t.output());
    assert.match(t.output(), /one\r\ntwo\r\n/);
    assert.doesNotMatch(t.output(), /\r\r\n/);
  });

  it('rotates the log at max-size into max-file files and reads them in order', async () => {
    // Docker (json-file): "max-size: the maximum size of the log before it is rolled";
    // "max-file: the maximum number of log files that can be present. If rolling the logs
    // creates excess files, the oldest file is removed." `docker logs` reads across them.
    const name = box.name('rot');
    const id = await runDetached(box, rootfs, name, ['--log-opt', 'max-size=1k', '--log-opt', 'max-file=3']);
    const dir = join(box.root, 'containers', id);
    const live = join(dir, 'ctr.log');
    // `logs -f` started now follows the log across every rotation.
    const follower = box.spawn(berthBin, ['logs', '-f', name], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: box.env,
    });
    let followed = '';
    follower.stdout?.on('data', (d: Buffer) => {
      followed += d.toString();
    });
    for (let batch = 1; batch <= 5; batch++) {
      // Written to the main process's stdout, which conmon logs.
      await berth([
        'exec',
        name,
        'sh',
        '-c',
        `for i in $(seq 1 30); do echo "batch ${batch} line $i ......................"; done > /proc/1/fd/1`,
      ]);
      await until(`batch ${batch} is logged and the log rotated`, async () => {
        const logs = await berth(['logs', name]);
        return logs.endsWith(`batch ${batch} line 30 ......................`) && statSync(live).size < 1024;
      });
      await until(`logs -f shows batch ${batch}`, async () =>
        followed.includes(`batch ${batch} line 30 ......................\n`),
      );
    }
    follower.kill();
    const all = Array.from(
      { length: 150 },
      (_, i) => `batch ${Math.floor(i / 30) + 1} line ${(i % 30) + 1} ......................\n`,
    );
    assert.equal(followed, all.join(''), 'logs -f saw every line once, in order');
    const files = readdirSync(dir)
      .filter((f) => f.startsWith('ctr.log'))
      .sort();
    assert.deepEqual(files, ['ctr.log', 'ctr.log.1', 'ctr.log.2']);
    assert.equal(existsSync(join(dir, 'ctr.log.3')), false);
    const lines = (await berth(['logs', name])).split('\n');
    const seq = lines.map((l) => {
      const m = /^batch (\d) line (\d+) /.exec(l);
      assert.ok(m, `a line of ours: ${l}`);
      return (Number(m[1]) - 1) * 30 + Number(m[2]);
    });
    // Contiguous and in order, ending with the last line; the oldest lines were dropped.
    assert.deepEqual(
      seq,
      seq.map((_, i) => seq[0]! + i),
    );
    assert.equal(seq.at(-1), 150);
    assert.ok(seq[0]! > 1, 'the oldest file was removed');
  });

  it('splits what was written before the rotation monitor started into max-size files', async () => {
    // Docker's json-file driver checks max-size before every write, so even a burst at start
    // leaves files of about max-size; Berth's monitor starts a moment after the container and
    // cuts what came before its first look the same way (whole lines, the newest kept).
    const name = box.name('burst');
    const id = await runDetached(
      box,
      rootfs,
      name,
      ['--log-opt', 'max-size=1k', '--log-opt', 'max-file=3'],
      ['sh', '-c', 'for i in $(seq 1 400); do echo "early line $i ......"; done; sleep 1000'],
    );
    const dir = join(box.root, 'containers', id);
    const sizes = () =>
      ['ctr.log.2', 'ctr.log.1'].map((f) => (existsSync(join(dir, f)) ? statSync(join(dir, f)).size : -1));
    await until('the early output is split into rotated files', async () =>
      sizes().every((n) => n > 0 && n <= 1024),
    );
    const lines = (await berth(['logs', name])).split('\n');
    const seq = lines.map((l) => Number(/^early line (\d+) /.exec(l)?.[1]));
    assert.equal(seq.at(-1), 400);
    assert.deepEqual(
      seq,
      seq.map((_, i) => seq[0]! + i),
      'contiguous, in order',
    );
    assert.ok(seq[0]! > 1, 'the oldest lines were dropped');
  });
});
