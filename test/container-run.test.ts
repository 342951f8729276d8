/**
 * Containers on the real runtime (runc here) under conmon, driven through bin/berth with
 * one sandbox for the whole file. The image is an unpacked busybox rootfs (`--rootfs`).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { busyboxRootfsTar, unpackBusybox } from './helpers/busybox-image.js';
import { berthBin, isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';
import { onTerminal } from './helpers/terminal.js';
import { until } from './helpers/until.js';

describe('containers', { skip: !isRoot && 'needs root' }, () => {
  let box: Sandbox;
  let rootfs: string;
  const berth = (args: string[], input?: string, signal?: AbortSignal) =>
    box.berth(args, { ...(input === undefined ? {} : { input }), ...(signal ? { signal } : {}) });
  const img = () => ['--rootfs', rootfs];
  const inspect = async (ref: string) => {
    const r = await berth(['inspect', ref]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as Record<string, Record<string, unknown>>[])[0]!;
  };
  const mounts = () =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(box.dir));

  before(async () => {
    // Containers default to the bridge network: build it inside the sandbox's own namespace.
    box = await sandbox(undefined, { netns: true });
    rootfs = await unpackBusybox(box);
    mkdirSync(join(rootfs, 'data'));
    writeFileSync(join(rootfs, 'data/seed'), 'from-image\n');
  });
  after(() => box.cleanup());

  it('runs in the foreground: output, stderr, exit status, --rm leaves nothing', async () => {
    const r = await berth(['run', '--rm', ...img(), 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    const ps = await berth(['ps', '-a', '-q']);
    assert.equal(ps.stdout, '');
    assert.deepEqual(mounts(), []);
  });

  it('forwards stdin with -i', async () => {
    const r = await berth(['run', '--rm', '-i', ...img(), 'sh', '-c', 'cat; echo end'], 'a\nb\n');
    assert.equal(r.stdout, 'a\nb\nend\n');
  });

  it('gives -it a real terminal that follows resizes', async () => {
    // A pseudo-terminal driver: sizes it 30x100, later 40x120 with SIGWINCH, then types a line.
    const driver = `
import os, pty, sys, time, fcntl, termios, struct, select
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 100, 0, 0))
out, t0, sent = b'', time.time(), False
while time.time() - t0 < 20:
    r, _, _ = select.select([fd], [], [], 0.1)
    if fd in r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d: break
        out += d
    if not sent and b'READY' in out:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))
        os.kill(pid, 28)
        time.sleep(0.3)
        os.write(fd, b'stty size; exit 3\\r')
        sent = True
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode('utf8', 'replace'))
sys.exit(os.waitstatus_to_exitcode(st))
`;
    const r = await box.exec(
      'python3',
      [
        '-c',
        driver,
        berthBin,
        '--root',
        box.root,
        '--runroot',
        box.runroot,
        'run',
        '--rm',
        '-it',
        ...img(),
        'sh',
        '-c',
        'stty size; echo READY; exec sh',
      ],
      { check: false },
    );
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /30 100/);
    assert.match(r.stdout, /40 120/);
  });

  it('honours env files, users, workdir, entrypoint, exec -d/-u and rm -v', async () => {
    const envFile = join(box.dir, 'env');
    writeFileSync(envFile, 'A=1\n# comment\nB=two\n');
    const r = await berth([
      'run',
      '--rm',
      '--env-file',
      envFile,
      '-u',
      'nobody',
      '-w',
      '/tmp',
      ...img(),
      'sh',
      '-c',
      'echo $A $B; id -u; pwd',
    ]);
    assert.equal(r.stdout, '1 two\n65534\n/tmp\n');
    const ep = await berth(['run', '--rm', '--entrypoint', 'echo', ...img(), 'hi', 'there']);
    assert.equal(ep.stdout, 'hi there\n');
    const name = box.name('e');
    await berth(['run', '-d', '--name', name, '-v', '/anon', ...img(), 'sleep', '600']);
    assert.equal((await berth(['exec', '-d', name, 'sh', '-c', 'echo x > /tmp/d'])).code, 0);
    // exec -d returns before its command has run.
    let out = '';
    await until(
      () => `exec -u nobody sees the file exec -d wrote: ${JSON.stringify(out)}`,
      async () => {
        out = (await berth(['exec', '-u', 'nobody', name, 'sh', '-c', 'id -u; cat /tmp/d 2>/dev/null']))
          .stdout;
        return out === '65534\nx\n';
      },
    );
    const before = (await berth(['volume', 'ls', '-q'])).stdout.trim().split('\n').filter(Boolean).length;
    assert.equal((await berth(['rm', '-f', '-v', name])).code, 0);
    const after = (await berth(['volume', 'ls', '-q'])).stdout.trim().split('\n').filter(Boolean).length;
    assert.equal(after, before - 1);
  });

  it('creates, then starts attached, twice in a row', async () => {
    const name = box.name('c');
    assert.equal((await berth(['create', '--name', name, ...img(), 'sh', '-c', 'echo ran; exit 4'])).code, 0);
    assert.match((await berth(['ps', '-a'])).stdout, /Created/);
    for (let i = 0; i < 2; i++) {
      const r = await berth(['start', '-a', name]);
      assert.equal(r.code, 4, r.stderr);
      assert.equal(r.stdout, 'ran\n');
    }
    assert.equal((await berth(['rm', name])).code, 0);
  });

  it('answers bad input with 125/127 and leaves nothing behind', async () => {
    const nf = await berth(['run', '--rm', ...img(), 'nosuchcmd']);
    assert.equal(nf.code, 127, nf.stderr);
    assert.match(nf.stderr, /not found/);
    const mem = await berth(['run', '-m', 'lots', ...img(), 'true']);
    assert.equal(mem.code, 125);
    assert.match(mem.stderr, /Invalid value "lots" for --memory/);
    const flag = await berth(['run', '--bogus', ...img(), 'true']);
    assert.equal(flag.code, 125);
    const fail = await berth(['run', '--name', 'failed', ...img(), 'nosuchcmd']);
    assert.equal(fail.code, 127);
    assert.equal((await berth(['ps', '-a', '-q'])).stdout, '');
    assert.deepEqual(mounts(), []);
    assert.deepEqual(readdirSync(join(box.root, 'containers')), []);
  });

  it('runs detached: ps, logs, exec, top, stop with the stop signal, inspect, rm', async () => {
    const name = box.name('web');
    const d = await berth([
      'run',
      '-d',
      '--name',
      name,
      '-e',
      'FOO=bar',
      '--label',
      'a=b',
      ...img(),
      'sh',
      '-c',
      'echo started; trap "echo bye; exit 7" TERM; while true; do sleep 0.1; done',
    ]);
    assert.equal(d.code, 0, d.stderr);
    const id = d.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const ps = await berth(['ps', '--format', 'json']);
    const row = JSON.parse(ps.stdout.trim().split('\n')[0]!) as { Names: string; State: string };
    assert.equal(row.Names, name);
    assert.equal(row.State, 'running');
    const ex = await berth(['exec', '-e', 'X=1', name, 'sh', '-c', 'echo $FOO$X; hostname']);
    assert.equal(ex.stdout, `bar1\n${id.slice(0, 12)}\n`);
    assert.equal((await berth(['exec', name, 'sh', '-c', 'exit 4'])).code, 4);
    const filtered = await berth(['ps', '--no-trunc', '-q', '-f', `name=${name}`, '-f', 'label=a=b']);
    assert.equal(filtered.stdout, `${id}\n`);
    assert.equal((await berth(['ps', '-q', '-f', 'status=exited', '-f', `name=${name}`])).stdout, '');
    const tpl = await berth(['inspect', '-f', '{{.State.Status}} {{.Name}}', name]);
    assert.equal(tpl.stdout, `running /${name}\n`);
    const top = await berth(['top', name]);
    assert.match(top.stdout, /while true/);
    const conflict = await berth(['run', '--name', name, ...img(), 'true']);
    assert.equal(conflict.code, 125);
    assert.match(conflict.stderr, /already in use/);
    const stop = await berth(['stop', '-t', '5', name]);
    assert.equal(stop.code, 0, stop.stderr);
    const logs = await berth(['logs', name]);
    assert.equal(logs.stdout, 'started\nbye\n');
    const tail = await berth(['logs', '--tail', '1', name]);
    assert.equal(tail.stdout, 'bye\n');
    const info = await inspect(name);
    const state = info.State as Record<string, unknown>;
    assert.equal(state.Status, 'exited');
    assert.equal(state.Running, false);
    assert.equal(state.ExitCode, 7);
    assert.equal((info.Config as { Labels?: Record<string, string> }).Labels?.a, 'b');
    assert.equal((await berth(['wait', name])).stdout, '7\n');
    assert.equal((await berth(['rm', name])).code, 0);
    assert.deepEqual(mounts(), []);
  });

  it('applies limits (visible in inspect and the cgroup) and reports OOM kills', async () => {
    const r = await berth([
      'run',
      '--rm',
      '-m',
      '64m',
      '--cpus',
      '0.5',
      '--pids-limit',
      '20',
      ...img(),
      'sh',
      '-c',
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/pids/pids.max',
    ]);
    assert.equal(r.stdout, `${64 * 1024 * 1024}\n50000\n20\n`);
    const sname = box.name('stats');
    await berth(['run', '-d', '--name', sname, '-m', '32m', '--pids-limit', '9', ...img(), 'sleep', '600']);
    const stats = await berth(['stats', '--no-stream', '--format', 'json', sname]);
    const row = JSON.parse(stats.stdout) as { MemUsage: string; PIDs: string };
    assert.match(row.MemUsage, / \/ 32\.00MiB$/);
    assert.equal(row.PIDs, '1');
    // docker stats --format '{{.Name}} {{.PIDs}}': a Go template per container.
    const templ = await berth(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', sname]);
    assert.equal(templ.stdout, `${sname} 1\n`);
    const hc = (await inspect(sname)).HostConfig as { Memory: number; PidsLimit: number };
    assert.deepEqual([hc.Memory, hc.PidsLimit], [32 * 1024 * 1024, 9]);
    await berth(['rm', '-f', sname]);
    const name = box.name('oom');
    const o = await berth([
      'run',
      '--name',
      name,
      '-m',
      '8m',
      ...img(),
      'sh',
      '-c',
      'x=$(head -c 60000000 /dev/zero | tr "\\0" a)',
    ]);
    assert.equal(o.code, 137);
    const info = await inspect(name);
    assert.equal((info.State as { OOMKilled: boolean }).OOMKilled, true);
    assert.equal((info.HostConfig as { Memory: number }).Memory, 8 * 1024 * 1024);
    await berth(['rm', name]);
  });

  it("runs on crun too: exec keeps the container's no_new_privs, capabilities and seccomp; a missing command is 127", {
    skip: !existsSync('/usr/bin/crun') && 'crun is not installed',
  }, async () => {
    const name = 'on-crun';
    const r = await berth([
      'run',
      '-d',
      '--name',
      name,
      '--runtime',
      'crun',
      '--security-opt',
      'no-new-privileges',
      ...img(),
      'sleep',
      '600',
    ]);
    assert.equal(r.code, 0, r.stderr);
    try {
      assert.match((await inspect(name)).HostConfig!.Runtime as string, /crun/);
      const probe = 'grep -E "^(CapEff|Seccomp|NoNewPrivs):" /proc/self/status';
      const e = await berth(['exec', name, 'sh', '-c', probe]);
      assert.match(e.stdout, /CapEff:\s+00000000a80425fb/);
      assert.match(e.stdout, /Seccomp:\s+2/);
      assert.match(e.stdout, /NoNewPrivs:\s+1/);
      // `exec -t` without -i, at a terminal: crun wants one on its stdin, and gets script's.
      const t = onTerminal(
        box,
        `${berthBin} --root ${box.root} --runroot ${box.runroot} exec -t ${name} sh -c 'tty; echo on-a-tty'`,
        { rows: 20, columns: 60 },
      );
      await t.waitFor('the tty exec', /\/dev\/pts\/\d+\s+on-a-tty/);
      assert.equal(await t.exited, 0);
      const missing = await berth(['exec', name, 'no-such-command']);
      assert.equal(missing.code, 127);
      assert.match(
        missing.stderr,
        /the command was not found in the image \(executable file `no-such-command` not found/,
      );
    } finally {
      await berth(['rm', '-f', name]);
    }
  });

  it('isolates by default and lifts it with --privileged', async () => {
    const probe = 'grep -E "^(CapEff|Seccomp|NoNewPrivs):" /proc/self/status; hostname';
    const d = await berth(['run', '--rm', '--hostname', 'box1', ...img(), 'sh', '-c', probe]);
    assert.match(d.stdout, /CapEff:\s+00000000a80425fb/);
    assert.match(d.stdout, /Seccomp:\s+2/);
    assert.match(d.stdout, /box1/);
    const p = await berth([
      'run',
      '--rm',
      '--privileged',
      '--security-opt',
      'no-new-privileges',
      ...img(),
      'sh',
      '-c',
      probe,
    ]);
    assert.match(p.stdout, /Seccomp:\s+0/);
    assert.match(p.stdout, /NoNewPrivs:\s+1/);
    const un = await berth(['run', '--rm', ...img(), 'unshare', '-n', 'true']);
    assert.notEqual(un.code, 0);
    const ro = await berth([
      'run',
      '--rm',
      '--read-only',
      '--tmpfs',
      '/scratch',
      ...img(),
      'sh',
      '-c',
      'touch /x || echo ro; touch /scratch/y && echo tmp',
    ]);
    assert.equal(ro.stdout, 'ro\ntmp\n');
    const init = await berth(['run', '--rm', '--init', ...img(), 'cat', '/proc/1/cmdline']);
    assert.match(init.stdout, /berth-init/);
    const host = await berth([
      'run',
      '--rm',
      '--network',
      'host',
      ...img(),
      'sh',
      '-c',
      'ls /sys/class/net | wc -l',
    ]);
    assert.ok(Number(host.stdout) >= 1, `run --network host: ${host.code} ${host.stderr}`);
    const none = await berth([
      'run',
      '--rm',
      '--network',
      'none',
      ...img(),
      'sh',
      '-c',
      'ls /sys/class/net; ping -c1 -W1 127.0.0.1 >/dev/null && echo lo-up',
    ]);
    assert.equal(none.stdout, 'lo\nlo-up\n');
  });

  it('mounts binds and named volumes (filled from the image once)', async () => {
    const hostDir = join(box.dir, 'hostdir');
    mkdirSync(hostDir);
    writeFileSync(join(hostDir, 'f'), 'host\n');
    const b = await berth([
      'run',
      '--rm',
      '-v',
      `${hostDir}:/h:ro`,
      ...img(),
      'sh',
      '-c',
      'cat /h/f; touch /h/g || echo ro',
    ]);
    assert.equal(b.stdout, 'host\nro\n');
    const v = box.name('vol');
    const w = await berth([
      'run',
      '--rm',
      '-v',
      `${v}:/data`,
      ...img(),
      'sh',
      '-c',
      'cat /data/seed; echo more > /data/new',
    ]);
    assert.equal(w.stdout, 'from-image\n');
    const r = await berth(['run', '--rm', '-v', `${v}:/data`, ...img(), 'cat', '/data/new']);
    assert.equal(r.stdout, 'more\n');
    const ls = await berth(['volume', 'ls', '-q']);
    assert.match(ls.stdout, new RegExp(v));
    assert.equal((await berth(['volume', 'rm', v])).code, 0);
  });

  it('copies files both ways, renames, kills with a signal', async () => {
    const name = box.name('cp');
    await berth(['run', '-d', '--init', '--name', name, ...img(), 'sleep', '600']);
    const src = join(box.dir, 'in.txt');
    writeFileSync(src, 'copied\n');
    assert.equal((await berth(['cp', src, `${name}:/tmp/in.txt`])).code, 0);
    assert.equal((await berth(['exec', name, 'cat', '/tmp/in.txt'])).stdout, 'copied\n');
    const out = join(box.dir, 'out.txt');
    assert.equal((await berth(['cp', `${name}:/tmp/in.txt`, out])).code, 0);
    assert.equal(readFileSync(out, 'utf8'), 'copied\n');
    const renamed = `${name}-2`;
    assert.equal((await berth(['rename', name, renamed])).code, 0);
    assert.equal((await berth(['kill', '-s', 'TERM', renamed])).code, 0);
    assert.equal((await berth(['wait', renamed])).stdout, '143\n');
    assert.equal((await berth(['rm', '-f', renamed])).code, 0);
  });

  it('starts 20 containers in parallel with distinct names', async () => {
    const rs = await Promise.all(
      Array.from({ length: 20 }, () => berth(['run', '-d', ...img(), 'sleep', '600'])),
    );
    for (const r of rs) assert.equal(r.code, 0, r.stderr);
    const ps = await berth(['ps', '--format', 'json']);
    const names = ps.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { Names: string }).Names);
    assert.equal(new Set(names).size, 20);
    const ids = rs.map((r) => r.stdout.trim());
    const rm = await berth(['rm', '-f', ...ids]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal((await berth(['ps', '-a', '-q'])).stdout, '');
  });

  it('runs an imported image: its Cmd, and a named volume filled from its files', async () => {
    const imp = await berth([
      'import',
      await busyboxRootfsTar(),
      'bb:1',
      '--change',
      'CMD ["sh","-c","echo from-cmd"]',
    ]);
    assert.equal(imp.code, 0, imp.stderr);
    const r = await berth(['run', '--rm', 'bb:1']);
    assert.equal(r.stdout, 'from-cmd\n');
    const vol = box.name('etc');
    const v = await berth(['run', '--rm', '-v', `${vol}:/etc`, 'bb:1', 'head', '-1', '/etc/passwd']);
    assert.match(v.stdout, /^root:/);
    const missing = await berth(['run', '--rm', '--pull', 'never', 'nosuch:image', 'true']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /No such image/);
  });

  it('accepts the store after kill -9 of `berth run` at any point', async () => {
    for (const ms of [30, 70, 110, 150, 190, 230]) {
      await berth(['run', '-d', ...img(), 'sleep', '600'], undefined, AbortSignal.timeout(ms)).catch(
        () => undefined,
      );
    }
    const ps = await berth(['ps', '-a', '--format', 'json']);
    assert.equal(ps.code, 0, ps.stderr);
    const rows = ps.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { ID: string; State: string });
    for (const row of rows) {
      const info = await inspect(row.ID);
      const st = info.State as { Running: boolean; Pid: number };
      // A container reported running has a live process; one reported stopped has none.
      if (st.Running) assert.ok(existsSync(`/proc/${st.Pid}`), `pid ${st.Pid} of ${row.ID}`);
    }
    if (rows.length) {
      const rm = await berth(['rm', '-f', ...rows.map((r) => r.ID)]);
      assert.equal(rm.code, 0, rm.stderr);
    }
    assert.equal((await berth(['ps', '-a', '-q'])).stdout, '');
    assert.deepEqual(mounts(), []);
  });

  it('run --rm: the container still goes when `berth run` is killed while it runs', async () => {
    const name = box.name('rmk');
    const child = box.spawn(
      berthBin,
      ['--root', box.root, '--runroot', box.runroot, 'run', '--rm', '--name', name, ...img(), 'sleep', '3'],
      { stdio: 'ignore' },
    );
    await until(
      'the container started',
      async () => (await berth(['inspect', '-f', '{{.State.Running}}', name])).stdout.trim() === 'true',
    );
    child.kill('SIGKILL');
    // With its `berth run` gone, conmon's exit command removes it when it exits.
    await until(
      'removed after exit',
      async () => (await berth(['ps', '-a', '-q'])).stdout.trim() === '',
      30_000,
    );
    assert.deepEqual(mounts(), []);
  });

  it('tells the truth after conmon is killed, and restarts by policy', async () => {
    const name = box.name('k9');
    const id = (await berth(['run', '-d', '--name', name, ...img(), 'sleep', '600'])).stdout.trim();
    const conmonPid = Number(readFileSync(join(box.runroot, 'containers', id, 'conmon.pid'), 'utf8'));
    const ctrPid = Number(readFileSync(join(box.runroot, 'containers', id, 'pidfile'), 'utf8'));
    process.kill(conmonPid, 'SIGKILL');
    process.kill(ctrPid, 'SIGKILL');
    await until(
      'inspect shows the container exited',
      async () => ((await inspect(name)).State as { Status: string }).Status === 'exited',
    );
    // Nobody released its mount and network namespace; the next start does, and runs it.
    const again = await berth(['start', name]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(((await inspect(name)).State as { Status: string }).Status, 'running');
    assert.equal((await berth(['rm', '-f', name])).code, 0);
    const rname = box.name('rs');
    await berth(['run', '-d', '--name', rname, '--restart', 'on-failure:2', ...img(), 'sh', '-c', 'exit 1']);
    let count = 0;
    await until(
      () => `two restarts, saw ${count}`,
      async () => {
        count = (await inspect(rname)).RestartCount as unknown as number;
        return count >= 2;
      },
    );
    assert.equal(count, 2);
    assert.equal((await berth(['rm', '-f', rname])).code, 0);
    assert.ok(!existsSync(join(box.root, 'containers', id)));
  });
});
