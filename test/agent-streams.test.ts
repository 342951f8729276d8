// kubectl exec, attach (stdinOnce true and false), debug (ephemeral containers), cp,
// port-forward and the log options, with the real kubectl against a
// server whose embedded agent runs busybox pods as engine containers, in a network namespace
// of its own. The API server proxies each stream to the agent's endpoint; kubectl picks the
// protocol (WebSocket by default, SPDY when told to).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startAgentCluster, type TestCluster, until } from './helpers/cluster.js';
import { isRoot } from './helpers/sandbox.js';
import { expectFollowsResize, onTerminal } from './helpers/terminal.js';

describe('kubectl streams through the node agent', { skip: !isRoot }, () => {
  let c: TestCluster;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    c = await startAgentCluster(undefined);
    env = c.kubectlEnv;
    await c.apply(
      pod('box', [container('main', 'echo first; echo second; exec sleep 1000')]),
      pod('web', [
        // Two servers on two ports, each with its own page.
        container(
          'web',
          'mkdir -p /a /b; echo page-one > /a/index.html; echo page-two > /b/index.html; ' +
            "dd if=/dev/zero bs=1024 count=4096 2>/dev/null | tr '\\0' x > /b/big; " +
            'httpd -p 80 -h /a; exec httpd -f -p 8080 -h /b',
        ),
        container('side', 'echo from-side; exec sleep 1000'),
      ]),
      // stdinOnce: the first attach that ends closes stdin (as `kubectl run -i` asks).
      pod('talk', [
        {
          ...container('main', 'while read l; do echo "got $l"; done; echo bye'),
          stdin: true,
          stdinOnce: true,
        },
      ]),
      // stdinOnce false (the default): stdin stays open from one attach to the next.
      pod('keep', [
        {
          ...container('main', 'while read l; do echo "kept $l"; done; echo stdin-closed; exec sleep 1000'),
          stdin: true,
        },
      ]),
      pod('term', [{ ...container('main', 'exec sh'), stdin: true, tty: true }]),
      pod('dbg', [container('app', 'exec sleep 1000')]),
    );
    for (const name of ['box', 'web', 'talk', 'keep', 'term', 'dbg']) await c.running(name);
  });
  after(() => c.box.cleanup());

  function container(name: string, script: string) {
    return { name, image: 'busybox:local', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script] };
  }
  function pod(name: string, containers: unknown[]) {
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers },
    };
  }
  /** kubectl on a pseudo-terminal of `rows` x `cols`, as a user at a terminal runs it. */
  const kubectlOnTerminal = async (
    args: string,
    rows: number,
    cols: number,
    extraEnv: NodeJS.ProcessEnv = {},
  ) => {
    const session = onTerminal(c.box, `kubectl ${args}`, { rows, columns: cols }, { ...env, ...extraEnv });
    return { code: await session.exited, stdout: session.output() };
  };

  test('kubectl exec carries stdout, stderr and the exit code', async () => {
    const r = await c.kubectl(['exec', 'box', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.match(r.stderr, /^err$/m);
    const missing = await c.kubectl(['exec', 'box', '--', 'no-such-command']);
    assert.equal(missing.code, 127, missing.stderr);
    assert.match(missing.stderr, /not found/);
    const ok = await c.kubectl(['exec', 'web', '-c', 'side', '--', 'cat', '/proc/1/cmdline']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /sleep/);
  });

  test('kubectl exec -i passes stdin and closes it at its end', async () => {
    const r = await c.kubectl(['exec', '-i', 'box', '--', 'sh', '-c', 'cat; echo done'], {
      input: 'line one\nline two\n',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'line one\nline two\ndone\n');
  });

  test("kubectl exec over SPDY (kubectl's fallback, client-go's SPDY executor)", async () => {
    const spdy = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' };
    const r = await c.kubectl(['exec', '-i', 'box', '--', 'sh', '-c', 'cat; echo err >&2; exit 5'], {
      input: 'over spdy\n',
      env: spdy,
    });
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.stdout, 'over spdy\n');
    assert.match(r.stderr, /^err$/m);
  });

  test('kubectl exec -it runs on a terminal of the client terminal size', async () => {
    const r = await kubectlOnTerminal("exec -it box -- sh -c 'tty; stty size; exit 4'", 33, 101);
    assert.equal(r.code, 4, r.stdout);
    assert.match(r.stdout, /\/dev\/pts\/\d+/);
    assert.match(r.stdout, /^33 101\r?$/m);
  });

  test('kubectl exec -it follows the client terminal when it is resized', async () => {
    // The user's terminal (script's) changes size: kubectl sends it, the agent resizes.
    await expectFollowsResize(c.box, 'kubectl exec -it box --', env);
  });

  test('kubectl cp copies files into a pod and out of it (tar over exec)', async () => {
    const src = join(c.box.dir, 'cp-in.txt');
    const content = `${'some bytes\n'.repeat(20_000)}end\n`;
    writeFileSync(src, content);
    const put = await c.kubectl(['cp', src, 'box:/tmp/copied.txt']);
    assert.equal(put.code, 0, put.stderr);
    const wc = await c.kubectl(['exec', 'box', '--', 'wc', '-c', '/tmp/copied.txt']);
    assert.equal(wc.stdout.trim().split(/\s+/)[0], String(content.length), wc.stderr);
    const dest = join(c.box.dir, 'cp-out.txt');
    const get = await c.kubectl(['cp', 'box:/tmp/copied.txt', dest]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(readFileSync(dest, 'utf8'), content);
  });

  test('kubectl attach -i talks to the container stdin and output', async () => {
    const r = await c.kubectl(['attach', '-i', 'talk'], { input: 'hello\nagain\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /got hello\ngot again\n/);
  });

  test('stdin of a container with stdinOnce false stays open from one kubectl attach -i to the next', async () => {
    for (const word of ['one', 'two']) {
      const attach = c.box.spawn('kubectl', ['attach', '-i', 'keep'], {
        stdio: ['pipe', 'ignore', 'ignore'],
        env,
      });
      try {
        attach.stdin?.write(`${word}\n`);
        await until(`kept ${word}`, async () =>
          (await c.kubectl(['logs', 'keep'])).stdout.includes(`kept ${word}\n`),
        );
        // The client ends its input and goes: a later attach still reaches the same stdin.
        attach.stdin?.end();
      } finally {
        attach.kill();
      }
    }
    assert.doesNotMatch((await c.kubectl(['logs', 'keep'])).stdout, /stdin-closed/);
  });

  test('kubectl debug -it adds an ephemeral container in the target container PID namespace', async () => {
    const session = onTerminal(
      c.box,
      'kubectl debug -it dbg --image=busybox:local --target=app -c debugger -- sh',
      { rows: 30, columns: 100 },
      env,
    );
    try {
      // The shell sees the target's processes: it shares app's PID namespace.
      await session.waitFor(
        "app's process seen from the debugger",
        /^1\r?$/m,
        'ps -o pid,args | grep -c "[s]leep 1000"\n',
        60_000,
      );
      session.type('exit\n');
      assert.equal(await session.exited, 0, session.output());
    } finally {
      session.kill();
    }
    const pod = await c.json(['get', 'pod', 'dbg']);
    assert.equal(pod.spec.ephemeralContainers[0].name, 'debugger');
    assert.equal(pod.spec.ephemeralContainers[0].targetContainerName, 'app');
    let state: { terminated?: { exitCode: number } } | undefined;
    await until(
      'the debugger terminated',
      async () => {
        const st = (await c.json(['get', 'pod', 'dbg'])).status.ephemeralContainerStatuses?.[0];
        state = st?.state;
        return st?.name === 'debugger' && !!state?.terminated;
      },
      60_000,
    );
    assert.equal(state?.terminated?.exitCode, 0, JSON.stringify(state));
    // The pod's own container ran on untouched.
    const after = await c.json(['get', 'pod', 'dbg']);
    assert.equal(after.status.containerStatuses[0].restartCount, 0);
    assert.equal(after.status.phase, 'Running');
  });

  test('kubectl debug without -it starts the container; names must be unique across the pod', async () => {
    const r = await c.kubectl([
      'debug',
      'dbg',
      '--image=busybox:local',
      '-c',
      'quiet',
      '--',
      'sh',
      '-c',
      'echo from-debug; exec sleep 1000',
    ]);
    assert.equal(r.code, 0, r.stderr);
    await until(
      'the debug container log',
      async () => (await c.kubectl(['logs', 'dbg', '-c', 'quiet'])).stdout === 'from-debug\n',
    );
    const st = (await c.json(['get', 'pod', 'dbg'])).status.ephemeralContainerStatuses.find(
      (s: { name: string }) => s.name === 'quiet',
    );
    assert.ok(st.state.running, JSON.stringify(st));
    // `berth ps` shows it beside the pod's own container.
    const ps = await c.box.berth([
      'ps',
      '--filter',
      'label=io.kubernetes.container.name=quiet',
      '--format',
      '{{.Names}}',
    ]);
    assert.match(ps.stdout, /^k8s_quiet_dbg_default_/m, ps.stderr);
    const dup = await c.kubectl(['debug', 'dbg', '--image=busybox:local', '-c', 'app', '--', 'true']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /spec\.ephemeralContainers\[\d\]\.name: Duplicate value: "app"/);
  });

  test('kubectl attach -it reaches a TTY container at the client terminal size', async () => {
    const session = onTerminal(c.box, 'kubectl attach -it term', { rows: 25, columns: 90 }, env);
    try {
      // kubectl sends a larger size first to make the program redraw, then the real one.
      // Up to a minute: on a loaded machine the attach (kubectl, API server, agent, conmon) alone
      // has taken most of the default 20 s.
      await session.waitFor('the client size', /^25 90\r?$/m, 'stty size\n', 60_000);
    } finally {
      session.kill();
    }
  });

  for (const [protocol, extraEnv] of [
    ['WebSocket', {}],
    ['SPDY', { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }],
  ] as const)
    test(`kubectl port-forward (${protocol}) forwards two ports, several connections at once`, async () => {
      const pf = c.box.spawn('kubectl', ['port-forward', 'pod/web', ':80', ':8080'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...env, ...extraEnv },
      });
      try {
        const ports = await new Promise<Map<string, string>>((resolve, reject) => {
          let out = '';
          const found = new Map<string, string>();
          pf.stdout?.on('data', (d: Buffer) => {
            out += d.toString();
            for (const m of out.matchAll(/Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/g))
              found.set(m[2]!, m[1]!);
            if (found.size === 2) resolve(found);
          });
          pf.stderr?.on('data', (d: Buffer) => {
            out += d.toString();
          });
          pf.once('exit', (code) => reject(new Error(`kubectl port-forward exited with ${code}: ${out}`)));
        });
        const get = (port: string, path = '/') =>
          c.box.exec('curl', ['-sS', '--max-time', '30', `http://127.0.0.1:${port}${path}`], {
            check: false,
          });
        const results = await Promise.all([
          ...Array.from({ length: 4 }, () => get(ports.get('80')!)),
          ...Array.from({ length: 4 }, () => get(ports.get('8080')!)),
        ]);
        assert.deepEqual(
          results.map((r) => r.stdout),
          [...Array(4).fill('page-one\n'), ...Array(4).fill('page-two\n')],
          results.map((r) => r.stderr).join(''),
        );
        // 4 MiB through one connection: the stream keeps up without losing or reordering bytes.
        const big = await get(ports.get('8080')!, '/big');
        assert.equal(big.stdout.length, 4 * 1024 * 1024, big.stderr);
        assert.match(big.stdout, /^x+$/);
        // A client that reads until the connection closes (HTTP/1.0, no length) gets its end.
        const closing = await c.box.exec('/bin/busybox', ['nc', '127.0.0.1', ports.get('80')!], {
          check: false,
          timeoutMs: 30_000,
          input: 'GET / HTTP/1.0\r\n\r\n',
        });
        assert.match(closing.stdout, /page-one/, closing.stderr);
      } finally {
        pf.kill();
      }
    });

  test('kubectl logs: --timestamps, --limit-bytes, --since, --since-time and --all-containers', async () => {
    const ts = await c.kubectl(['logs', 'box', '--timestamps']);
    assert.match(ts.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z first\n\S+ second\n$/, ts.stderr);
    const limited = await c.kubectl(['logs', 'box', '--limit-bytes=8']);
    assert.equal(limited.stdout, 'first\nse', limited.stderr);
    const recent = await c.kubectl(['logs', 'box', '--since=1h']);
    assert.equal(recent.stdout, 'first\nsecond\n', recent.stderr);
    const future = await c.kubectl([
      'logs',
      'box',
      `--since-time=${new Date(Date.now() + 3_600_000).toISOString()}`,
    ]);
    assert.equal(future.stdout, '', future.stderr);
    const all = await c.kubectl(['logs', 'web', '--all-containers']);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /from-side/);
  });

  test('kubectl logs deploy/x and job/x read a pod of the workload', async () => {
    const r = await c.kubectl([
      'create',
      'deployment',
      'greeter',
      '--image=busybox:local',
      '--',
      'sh',
      '-c',
      'echo hello-from-deploy; exec sleep 1000',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = await c.kubectl([
      'create',
      'job',
      'once',
      '--image=busybox:local',
      '--',
      'echo',
      'hello-from-job',
    ]);
    assert.equal(j.code, 0, j.stderr);
    await until(
      'deploy logs',
      async () => (await c.kubectl(['logs', 'deploy/greeter'])).stdout === 'hello-from-deploy\n',
      60_000,
    );
    await until(
      'job logs',
      async () => (await c.kubectl(['logs', 'job/once'])).stdout === 'hello-from-job\n',
      60_000,
    );
  });

  test('an identity without pods/exec, pods/attach or pods/portforward gets 403', async () => {
    // jane may read pods (the view role), not exec into them, attach or forward their ports.
    const rb = await c.kubectl(['create', 'rolebinding', 'jane-view', '--clusterrole=view', '--user=jane']);
    assert.equal(rb.code, 0, rb.stderr);
    for (const args of [
      ['exec', 'box', '--', 'true'],
      ['attach', 'box'],
      ['port-forward', 'pod/web', ':80'],
    ]) {
      const r = await c.kubectl(['--as=jane', ...args]);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        /forbidden: User "jane" cannot \w+ resource "pods\/(exec|attach|portforward)"/,
        r.stderr,
      );
    }
  });
});
