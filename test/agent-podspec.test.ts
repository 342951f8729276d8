// The pod spec fields the node agent honours on real containers: securityContext, requests
// and limits as cgroups under kubepods (and the OOM killer's verdict), the namespaces a pod's
// containers share, the managed /etc/hosts with hostAliases, termination messages. One
// `berth server` with its embedded agent in a network namespace of its own, driven by the
// real kubectl; every fact is read back from what the container printed or the cgroup files.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startAgentCluster, type TestCluster, until } from './helpers/cluster.js';
import { startRegistry } from './helpers/registry.js';
import { isRoot } from './helpers/sandbox.js';

describe('pod spec on the engine', { skip: !isRoot }, () => {
  let c: TestCluster;
  before(async () => {
    c = await startAgentCluster(undefined);
  });
  after(() => c.box.cleanup());
  const json = (args: string[]) => c.json(args);
  const apply = (obj: unknown) => c.apply(obj);
  const container = (name: string, script: string, extra: object = {}) => ({
    name,
    image: 'busybox:local',
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', '-c', script],
    ...extra,
  });
  const pod = (name: string, containers: object[], spec: object = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers, ...spec },
  });
  /** The terminated state of the pod's container `name`, once it has one. */
  const terminated = async (podName: string, name = 'main') => {
    let state: { exitCode: number; reason: string; message?: string } | undefined;
    await until(
      `${podName}/${name} terminated`,
      async () => {
        const st = (await json(['get', 'pod', podName])).status;
        state = (st.containerStatuses ?? []).find((s: { name: string }) => s.name === name)?.state
          ?.terminated;
        return state !== undefined;
      },
      60_000,
    );
    return state!;
  };
  const logs = (podName: string, name = 'main') => c.ok(['logs', podName, '-c', name]);

  test('runAsUser, runAsGroup and supplementalGroups are what id reports', async () => {
    await apply(
      pod('ids', [container('main', 'id -u; id -g; id -G')], {
        securityContext: { runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000], fsGroup: 5000 },
      }),
    );
    assert.equal((await terminated('ids')).exitCode, 0);
    const [uid, gid, groups] = (await logs('ids')).trim().split('\n');
    assert.equal(uid, '1000');
    assert.equal(gid, '3000');
    assert.deepEqual(groups!.split(' ').sort(), ['3000', '4000', '5000']);
  });

  test('readOnlyRootFilesystem refuses a write; dropped capabilities are gone from CapEff', async () => {
    await apply(
      pod('locked', [
        container('main', 'touch /x 2>&1; grep CapEff /proc/self/status', {
          securityContext: {
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
          },
        }),
      ]),
    );
    await terminated('locked');
    const out = await logs('locked');
    assert.match(out, /Read-only file system/);
    // CAP_NET_BIND_SERVICE is bit 10: the only one left.
    assert.match(out, /CapEff:\s+0000000000000400/);
  });

  test('runAsNonRoot with a root image is refused with the kubelet message', async () => {
    await apply(pod('nonroot', [container('main', 'true')], { securityContext: { runAsNonRoot: true } }));
    await until('nonroot refused', async () => {
      const w = (await json(['get', 'pod', 'nonroot'])).status.containerStatuses?.[0]?.state?.waiting;
      return (
        w?.reason === 'CreateContainerConfigError' &&
        /container has runAsNonRoot and image will run as root/.test(w.message)
      );
    });
  });

  test('a memory hog over its limit is OOMKilled', async () => {
    await apply(
      pod('hog', [
        container('main', 'dd if=/dev/zero of=/dev/null bs=256M count=1', {
          resources: { limits: { memory: '32Mi', cpu: '500m' } },
        }),
      ]),
    );
    const t = await terminated('hog');
    assert.equal(t.reason, 'OOMKilled', JSON.stringify(t));
    assert.equal(t.exitCode, 137);
  });

  test("a Guaranteed pod's cgroup has its requests and limits", async () => {
    const resources = { limits: { cpu: '500m', memory: '64Mi' } };
    await apply(pod('sized', [container('main', 'exec sleep 1000', { resources })]));
    await until(
      'sized Running',
      async () => (await json(['get', 'pod', 'sized'])).status.phase === 'Running',
    );
    const p = await json(['get', 'pod', 'sized']);
    assert.equal(p.status.qosClass, 'Guaranteed');
    const dir = `${c.box.cgroupParent}/kubepods/pod${p.metadata.uid}`;
    const read = (ctl: string, f: string) => readFileSync(join('/sys/fs/cgroup', ctl, dir, f), 'utf8').trim();
    assert.equal(read('cpu', 'cpu.shares'), '512');
    assert.equal(read('cpu', 'cpu.cfs_quota_us'), '50000');
    assert.equal(read('memory', 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
    // The container's own cgroup sits beneath the pod's, with the same values.
    const id = p.status.containerStatuses[0].containerID.replace('berth://', '');
    assert.equal(read('memory', `berth-${id}/memory.limit_in_bytes`), String(64 * 1024 * 1024));
    const r = await c.kubectl(['delete', 'pod', 'sized', '--timeout=60s']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('the containers of a pod share IPC and UTS namespaces, and with shareProcessNamespace their processes', async () => {
    const show = 'readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts; hostname; exec sleep 1000';
    await apply(
      pod(
        'shared',
        [container('a', show), container('b', `${show.replace('exec sleep 1000', '')} ps; exec sleep 999`)],
        {
          restartPolicy: 'Always',
          shareProcessNamespace: true,
          hostname: 'box1',
        },
      ),
    );
    await until(
      'shared Running',
      async () => (await json(['get', 'pod', 'shared'])).status.phase === 'Running',
    );
    await until('b printed', async () => (await logs('shared', 'b')).includes('sleep'));
    const a = (await logs('shared', 'a')).split('\n');
    const b = (await logs('shared', 'b')).split('\n');
    assert.match(a[0]!, /^ipc:\[\d+\]$/);
    assert.deepEqual(a.slice(0, 3), b.slice(0, 3));
    assert.equal(a[2], 'box1');
    assert.notEqual(a[0], readlinkSync('/proc/self/ns/ipc'));
    // b sees a's sleep: one PID namespace for the pod.
    assert.match(b.join('\n'), /sleep 1000/);
    const r = await c.kubectl(['delete', 'pod', 'shared', '--timeout=60s']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('hostAliases and the pod address are in the managed /etc/hosts, the hostname in /etc/hostname', async () => {
    await apply(
      pod('hosts', [container('main', 'cat /etc/hostname /etc/hosts')], {
        hostname: 'h1',
        subdomain: 'sub',
        hostAliases: [{ ip: '10.9.8.7', hostnames: ['foo.local', 'bar.local'] }],
      }),
    );
    await terminated('hosts');
    const p = await json(['get', 'pod', 'hosts']);
    const out = await logs('hosts');
    assert.match(out, /^h1\n# Kubernetes-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n/);
    assert.ok(out.includes(`${p.status.podIP}\th1.sub.default.svc.cluster.local\th1\n`), out);
    assert.ok(out.endsWith('# Entries added by HostAliases.\n10.9.8.7\tfoo.local\tbar.local\n'), out);
  });

  test('the termination message comes from terminationMessagePath, or the log on error', async () => {
    await apply(
      pod('bye', [
        container('main', 'echo leaving > /tmp/why; exit 1', { terminationMessagePath: '/tmp/why' }),
        container('fallback', 'echo from-the-log; exit 2', {
          terminationMessagePolicy: 'FallbackToLogsOnError',
        }),
      ]),
    );
    const t = await terminated('bye');
    assert.equal(t.exitCode, 1);
    assert.equal(t.message, 'leaving\n');
    const f = await terminated('bye', 'fallback');
    assert.equal(f.message, 'from-the-log\n');
  });

  test("imagePullSecrets: the pod's dockerconfigjson Secret is what the pull authenticates with", async () => {
    const reg = await startRegistry(c.box, { user: 'alice', password: 's3cret' });
    const image = `${reg.host}/private/bb:1`;
    // The push logs in with an auth file of its own: the server's pulls have no stored credentials.
    const env = { REGISTRY_AUTH_FILE: join(c.box.dir, 'push-auth.json') };
    let r = await c.box.berth(['login', '-u', 'alice', '--password-stdin', reg.host], {
      env,
      input: 's3cret',
    });
    assert.equal(r.code, 0, r.stderr);
    r = await c.box.berth(['push', 'busybox:local', image], { env });
    assert.equal(r.code, 0, r.stderr);
    r = await c.kubectl([
      'create',
      'secret',
      'docker-registry',
      'regcred',
      `--docker-server=${reg.host}`,
      '--docker-username=alice',
      '--docker-password=s3cret',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const privateImage = { image, imagePullPolicy: 'Always' };
    await apply(
      pod('pulled', [container('main', 'echo pulled', privateImage)], {
        imagePullSecrets: [{ name: 'regcred' }],
      }),
    );
    await apply(pod('refused', [container('main', 'echo pulled', privateImage)]));
    assert.equal((await terminated('pulled')).exitCode, 0);
    await until('refused cannot pull', async () => {
      const w = (await json(['get', 'pod', 'refused'])).status.containerStatuses?.[0]?.state?.waiting;
      return w?.reason === 'ErrImagePull' || w?.reason === 'ImagePullBackOff';
    });
    for (const name of ['pulled', 'refused']) {
      const d = await c.kubectl(['delete', 'pod', name, '--timeout=60s']);
      assert.equal(d.code, 0, d.stderr);
    }
  });

  test('deleting the pods leaves no pod cgroup behind', async () => {
    for (const name of ['ids', 'locked', 'nonroot', 'hog', 'hosts', 'bye']) {
      const r = await c.kubectl(['delete', 'pod', name, '--timeout=60s']);
      assert.equal(r.code, 0, r.stderr);
    }
    // Finished pods leave the API at once; the agent's housekeeping removes what is left of them.
    const podCgroups = () =>
      ['', 'burstable', 'besteffort'].flatMap((tier) => {
        const d = join('/sys/fs/cgroup/memory', c.box.cgroupParent, 'kubepods', tier);
        return existsSync(d) ? readdirSync(d).filter((f) => f.startsWith('pod')) : [];
      });
    await until('no pod cgroups', async () => podCgroups().length === 0, 90_000);
  });
});
