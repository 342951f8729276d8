// Pods as real containers: `berth server` with its embedded agent on the engine runtime, in a
// network namespace of its own (the pod bridge and veths live there), driven by the real
// kubectl. A busybox image imported into the server's engine root runs with
// imagePullPolicy IfNotPresent; no registry is involved.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startAgentCluster, type TestCluster, until } from './helpers/cluster.js';
import { isRoot } from './helpers/sandbox.js';

/** A process's argv, or none when it ended meanwhile. */
function readCmdline(pid: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

describe('node agent on the engine', { skip: !isRoot }, () => {
  let c: TestCluster;
  before(async () => {
    c = await startAgentCluster(undefined);
  });
  after(() => c.box.cleanup());
  const json = (args: string[]) => c.json(args);
  const apply = (obj: unknown) => c.apply(obj);
  const pod = (name: string, script: string, restartPolicy = 'Always') => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      restartPolicy,
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'main',
          image: 'busybox:local',
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', script],
        },
      ],
    },
  });
  /** The engine containers of a pod, as `berth ps -a` shows them: id and state. */
  const containersOf = async (name: string) => {
    const r = await c.box.berth([
      'ps',
      '-a',
      '--no-trunc',
      '--filter',
      `label=io.kubernetes.pod.name=${name}`,
      '--format',
      '{{.ID}} {{.State}}',
    ]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  };

  test('a busybox pod runs as an engine container with an address from the node pod CIDR', async () => {
    await apply(pod('web', 'echo hello-from-pod; exec sleep 1000'));
    await until(
      'web Running',
      async () => (await json(['get', 'pod', 'web'])).status.phase === 'Running',
      60_000,
    );
    const st = (await json(['get', 'pod', 'web'])).status;
    assert.match(st.podIP, /^10\.42\.0\.\d+$/);
    assert.equal(st.containerStatuses[0].ready, true);
    const listed = await containersOf('web');
    assert.equal(listed.length, 1);
    assert.equal(listed[0], `${st.containerStatuses[0].containerID.replace('berth://', '')} running`);
    // kubectl logs: the API server streams it from the agent's endpoint.
    await until('web logged', async () =>
      (await c.kubectl(['logs', 'web'])).stdout.includes('hello-from-pod'),
    );
    const tail = await c.kubectl(['logs', 'web', '-c', 'main', '--tail=1']);
    assert.equal(tail.stdout, 'hello-from-pod\n', tail.stderr);
    // conmon ran runc from the server's sealed copy (runtime/sealed-copy.ts), and so does exec.
    const id = listed[0]!.split(' ')[0]!;
    const conmon = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .map((p) => readCmdline(p))
      .find((argv) => argv[0]?.endsWith('conmon') && argv.includes(id));
    const runtime = conmon?.[conmon.indexOf('-r') + 1] ?? '';
    // Without Perl the runtime runs from its own file (sealed-copy.ts says why).
    if (existsSync('/usr/bin/perl')) {
      assert.match(runtime, /^\/proc\/\d+\/fd\/\d+$/, conmon?.join(' '));
      assert.match(readlinkSync(runtime), /^\/memfd:berth-sealed-runtime/);
    }
    const exec = await c.kubectl(['exec', 'web', '--', 'echo', 'exec-ok']);
    assert.equal(exec.stdout, 'exec-ok\n', exec.stderr);
    // The pod's address answers from the node's namespace, across the pod bridge.
    const ping = await c.box.exec('/bin/busybox', ['ping', '-c', '1', '-W', '5', st.podIP], { check: false });
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
  });

  test('a container that exits is restarted (restartPolicy Always) and its restartCount grows', async () => {
    await apply(pod('crash', 'echo crashing; exit 3'));
    await until(
      'crash restarted',
      async () =>
        ((await json(['get', 'pod', 'crash'])).status.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      60_000,
    );
    const cs = (await json(['get', 'pod', 'crash'])).status.containerStatuses[0];
    const prev = await c.kubectl(['logs', 'crash', '--previous']);
    assert.equal(prev.stdout, 'crashing\n', prev.stderr);
    assert.equal(cs.lastState.terminated.exitCode, 3, JSON.stringify(cs));
  });

  test('kill -9 of the server (and its agent) restarts no container', async () => {
    const before = await containersOf('web');
    await c.restart();
    // A pod made after the restart runs: the new agent is up and has synced its node's pods.
    await apply(pod('after', 'exec sleep 1000'));
    await until(
      'after Running',
      async () => (await json(['get', 'pod', 'after'])).status?.phase === 'Running',
      60_000,
    );
    const st = (await json(['get', 'pod', 'web'])).status.containerStatuses[0];
    assert.equal(st.restartCount, 0);
    assert.deepEqual(await containersOf('web'), before);
  });

  test('deleting a pod removes its containers and its network namespace', async () => {
    const netns = join(c.box.runroot, 'netns');
    const pins = join(netns, 'pins');
    const podPins = () =>
      [...readdirSync(netns), ...(existsSync(pins) ? readdirSync(pins) : [])].filter((f) =>
        f.startsWith('pod-'),
      );
    // The pods' namespaces are pinned in the pin namespace, out of the node's mount table, and
    // so are their root file systems (runc mounts them in each container's namespace).
    assert.ok(podPins().length > 0, 'the running pods have pinned namespaces');
    const table = readFileSync('/proc/self/mountinfo', 'utf8');
    assert.ok(!table.includes(`${netns}/pod-`) && !table.includes(pins), 'no pod pin on the host');
    assert.ok(!table.includes(join(c.box.root, 'containers')), 'no container root on the host');
    for (const name of ['web', 'crash', 'after']) {
      const r = await c.kubectl(['delete', 'pod', name, '--timeout=60s']);
      assert.equal(r.code, 0, r.stderr);
      // The API object goes once the containers have stopped; like the kubelet's, the agent
      // removes the dead containers and the sandbox just after, not before it answers.
      await until(`${name}'s containers removed`, async () => (await containersOf(name)).length === 0);
    }
    await until('no pod network namespace left', async () => podPins().length === 0);
  });
});
