// Pod volumes on a real node: `berth server` with its embedded agent in a network namespace of
// its own, the real kubectl, real containers. One pod mounts a ConfigMap (updated while it
// runs), a Secret with a mode, an emptyDir shared by two containers, a Memory emptyDir, the
// downward API, a local-path claim and subPaths, and gets the ServiceAccount token files;
// pods whose volumes cannot be set up wait in ContainerCreating naming the reason; a restart
// of the agent re-adopts the volumes and deleting the pod leaves no mount behind; a shared host
// path shows mountPropagation HostToContainer and Bidirectional at work.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run } from '../src/core/exec.js';
import { startAgentCluster, type TestCluster, until } from './helpers/cluster.js';
import { isRoot } from './helpers/sandbox.js';

describe('pod volumes on the engine', { skip: !isRoot }, () => {
  let c: TestCluster;
  let podsDir: string;
  const claimDirs: string[] = [];
  before(async () => {
    c = await startAgentCluster(undefined);
    podsDir = join(c.dataDir, 'agent', 'pods');
  });
  after(async () => {
    await c.box.cleanup();
    for (const d of claimDirs) rmSync(d, { recursive: true, force: true });
  });
  const container = (
    name: string,
    script: string,
    volumeMounts: unknown[],
    extra: Record<string, unknown> = {},
  ) => ({
    name,
    image: 'busybox:local',
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', '-c', script],
    volumeMounts,
    ...extra,
  });
  const podOf = (
    name: string,
    containers: unknown[],
    volumes: unknown[],
    spec: Record<string, unknown> = {},
  ) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name, tier: 'test' } },
    spec: { terminationGracePeriodSeconds: 1, containers, volumes, ...spec },
  });
  const running = (name: string) => c.running(name, 90_000);
  /** Runs `cmd` in container `cname` of pod `name` through the engine (the agent's exec is another piece). */
  const execIn = async (name: string, cname: string, cmd: string[]) => {
    const cs = (await c.json(['get', 'pod', name])).status.containerStatuses.find(
      (x: { name: string }) => x.name === cname,
    );
    const r = await c.box.berth(['exec', cs.containerID.replace('berth://', ''), ...cmd]);
    assert.equal(r.code, 0, `${cmd.join(' ')}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const mountsUnder = (dir: string) =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((p) => p.startsWith(`${dir}/`));
  const waitingMessage = async (name: string) =>
    ((await c.json(['get', 'pod', name])).status?.containerStatuses?.[0]?.state?.waiting ?? {}) as {
      reason?: string;
      message?: string;
    };

  test('one pod with every kind of volume sees them, and a ConfigMap update reaches it', async () => {
    await c.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'app-config' },
        data: { greeting: 'hello', other: 'x' },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'app-secret' },
        stringData: { password: 'hunter2' },
      },
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Mi' } } },
      },
      podOf(
        'vols',
        [
          container(
            'a',
            'echo from-a > /shared/from-a; echo kept > /mem/kept; echo on-claim > /data/file; exec sleep 1000',
            [
              { name: 'cfg', mountPath: '/etc/cfg' },
              { name: 'sec', mountPath: '/etc/sec' },
              { name: 'shared', mountPath: '/shared' },
              { name: 'mem', mountPath: '/mem' },
              { name: 'info', mountPath: '/etc/info' },
              { name: 'data', mountPath: '/data' },
              { name: 'cfg', mountPath: '/etc/greeting.txt', subPath: 'greeting' },
            ],
            { resources: { limits: { memory: '64Mi' } } },
          ),
          container(
            'b',
            'exec sleep 1000',
            [
              { name: 'shared', mountPath: '/from-a', readOnly: true },
              { name: 'shared', mountPath: '/mine', subPathExpr: 'per-pod/$(POD)' },
            ],
            { env: [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] },
          ),
        ],
        [
          { name: 'cfg', configMap: { name: 'app-config' } },
          { name: 'sec', secret: { secretName: 'app-secret', defaultMode: 0o400 } },
          { name: 'shared', emptyDir: {} },
          { name: 'mem', emptyDir: { medium: 'Memory', sizeLimit: '2Mi' } },
          {
            name: 'info',
            downwardAPI: {
              items: [
                { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
                { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
                {
                  path: 'mem',
                  resourceFieldRef: { containerName: 'a', resource: 'limits.memory', divisor: '1Mi' },
                },
              ],
            },
          },
          { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
        ],
        { securityContext: { fsGroup: 2000 } },
      ),
    );
    await running('vols');
    assert.equal(await execIn('vols', 'a', ['cat', '/etc/cfg/greeting']), 'hello');
    assert.equal(await execIn('vols', 'a', ['cat', '/etc/greeting.txt']), 'hello');
    assert.equal(await execIn('vols', 'a', ['cat', '/etc/sec/password']), 'hunter2');
    assert.equal(await execIn('vols', 'a', ['cat', '/etc/info/labels']), 'app="vols"\ntier="test"');
    assert.equal(await execIn('vols', 'a', ['cat', '/etc/info/name']), 'vols');
    assert.equal(await execIn('vols', 'a', ['cat', '/etc/info/mem']), '64');
    assert.match(await execIn('vols', 'a', ['grep', ' /mem ', '/proc/mounts']), /tmpfs.*size=2048k/);
    // fsGroup: the volumes the agent makes belong to the group, folders setgid.
    assert.equal(await execIn('vols', 'a', ['stat', '-c', '%g %A', '/shared']), '2000 drwxrwsrwx\n');
    assert.equal(await execIn('vols', 'a', ['stat', '-L', '-c', '%g %a', '/etc/sec/password']), '2000 440\n');
    // Written by a, read by b through the same emptyDir; the subPathExpr folder is made in it.
    await until(
      'b sees the file a wrote',
      async () => (await execIn('vols', 'b', ['cat', '/from-a/from-a'])) === 'from-a\n',
    );
    await execIn('vols', 'b', ['sh', '-c', 'echo via-subpath > /mine/f']);
    assert.equal(await execIn('vols', 'a', ['cat', '/shared/per-pod/vols/f']), 'via-subpath\n');
    // API-backed volumes are read-only in the container.
    const ro = await c.box.berth([
      'exec',
      (await c.json(['get', 'pod', 'vols'])).status.containerStatuses[0].containerID.replace('berth://', ''),
      'sh',
      '-c',
      'echo x > /etc/cfg/new',
    ]);
    assert.notEqual(ro.code, 0);
    // The ServiceAccount's files, from the kube-api-access projected volume the API server added.
    const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
    assert.equal(await execIn('vols', 'a', ['cat', `${sa}/namespace`]), 'default');
    assert.match(await execIn('vols', 'a', ['cat', `${sa}/ca.crt`]), /BEGIN CERTIFICATE/);
    const token = await execIn('vols', 'a', ['cat', `${sa}/token`]);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
    assert.equal(claims.sub, 'system:serviceaccount:default:default');
    assert.equal(claims['kubernetes.io'].pod.name, 'vols');
    // The token and the CA from the pod work against the API server, as an in-cluster client uses them.
    const ca = join(c.box.dir, 'pod-ca.crt');
    writeFileSync(ca, await execIn('vols', 'a', ['cat', `${sa}/ca.crt`]));
    const who = await c.kubectl([
      ...['--kubeconfig', '/dev/null', '--server', `https://127.0.0.1:${c.port}`],
      ...['--certificate-authority', ca, '--token', token],
      ...['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'],
    ]);
    assert.equal(who.stdout, 'system:serviceaccount:default:default', who.stderr);
    // The claim's folder is on the node, under the local-path root.
    const pvc = await c.json(['get', 'pvc', 'data']);
    const pv = await c.json(['get', 'pv', pvc.spec.volumeName]);
    claimDirs.push(pv.spec.hostPath.path);
    assert.equal(readFileSync(join(pv.spec.hostPath.path, 'file'), 'utf8'), 'on-claim\n');

    // The node's own identity reads its pods' objects and nothing else (the Node authorizer).
    await c.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'unrelated' }, data: { k: 'dg==' } });
    const creds = join(c.dataDir, 'agent');
    const asNode = (args: string[]) =>
      c.kubectl([
        ...['--kubeconfig', '/dev/null', '--server', `https://127.0.0.1:${c.port}`],
        ...['--certificate-authority', join(creds, 'ca.crt')],
        ...['--client-certificate', join(creds, 'client.pem'), '--client-key', join(creds, 'client.pem')],
        ...args,
      ]);
    const own = await asNode(['get', 'secret', 'app-secret', '-o', 'name']);
    assert.equal(own.stdout, 'secret/app-secret\n', own.stderr);
    const other = await asNode(['get', 'secret', 'unrelated']);
    assert.match(other.stderr, /Forbidden.*no relationship found between node 'n1' and this object/);
    assert.match((await asNode(['get', 'secrets'])).stderr, /Forbidden/);

    // An update reaches the running pod, swapped in whole through ..data.
    const r = await c.kubectl(['patch', 'configmap', 'app-config', '-p', '{"data":{"greeting":"updated"}}']);
    assert.equal(r.code, 0, r.stderr);
    await until(
      'the update is visible',
      async () => (await execIn('vols', 'a', ['cat', '/etc/cfg/greeting'])) === 'updated',
      60_000,
    );
  });

  test('a missing ConfigMap or a hostPath of the wrong type keeps a pod ContainerCreating, naming it', async () => {
    await c.apply(
      podOf(
        'nocfg',
        [container('main', 'exec sleep 1000', [{ name: 'v', mountPath: '/v' }])],
        [{ name: 'v', configMap: { name: 'later' } }],
      ),
      podOf(
        'badhost',
        [container('main', 'exec sleep 1000', [{ name: 'v', mountPath: '/v' }])],
        [{ name: 'v', hostPath: { path: '/etc/hostname', type: 'Directory' } }],
      ),
    );
    await until('nocfg waits naming the ConfigMap', async () =>
      /configmap "later" not found/.test((await waitingMessage('nocfg')).message ?? ''),
    );
    assert.equal((await waitingMessage('nocfg')).reason, 'ContainerCreating');
    await until('badhost waits naming the path', async () =>
      /hostPath type check failed: \/etc\/hostname is not a directory/.test(
        (await waitingMessage('badhost')).message ?? '',
      ),
    );
    // And `kubectl describe pod` has the kubelet's FailedMount event, once per distinct failure.
    const failedMounts = async (pod: string) =>
      (await c.json(['get', 'events'])).items.filter(
        (e: { reason: string; involvedObject: { name: string } }) =>
          e.reason === 'FailedMount' && e.involvedObject.name === pod,
      );
    await until('badhost has a FailedMount event', async () => (await failedMounts('badhost')).length > 0);
    const [ev] = await failedMounts('badhost');
    assert.equal(ev.type, 'Warning');
    assert.match(ev.message, /hostPath type check failed: \/etc\/hostname is not a directory/);
    assert.equal(ev.source.component, 'kubelet');
    await c.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'later' }, data: { k: 'v' } });
    await running('nocfg');
  });

  test('mountPropagation: HostToContainer sees host mounts made later, Bidirectional shares them back', async () => {
    // Only a shared mount propagates (this machine's / is private): the host path gets one.
    const shared = join(c.box.dir, 'shared');
    mkdirSync(join(shared, 'later'), { recursive: true });
    mkdirSync(join(shared, 'fromctr'));
    await run('mount', ['--bind', shared, shared]);
    await run('mount', ['--make-shared', shared]);
    const mounted = [shared];
    try {
      const refused = await c.kubectl(['apply', '-f', '-'], {
        input: JSON.stringify(
          podOf(
            'bidi',
            [
              container('main', 'exec sleep 1000', [
                { name: 'h', mountPath: '/h', mountPropagation: 'Bidirectional' },
              ]),
            ],
            [{ name: 'h', hostPath: { path: shared } }],
          ),
        ),
      });
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stderr,
        /spec\.containers\[0\]\.volumeMounts\[0\]\.mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers/,
      );
      await c.apply(
        podOf(
          'prop',
          [
            container('watch', 'exec sleep 1000', [
              { name: 'h', mountPath: '/h', mountPropagation: 'HostToContainer' },
            ]),
            container('plain', 'exec sleep 1000', [{ name: 'h', mountPath: '/h' }]),
            container(
              'both',
              'exec sleep 1000',
              [{ name: 'h', mountPath: '/h', mountPropagation: 'Bidirectional' }],
              {
                securityContext: { privileged: true },
              },
            ),
          ],
          [{ name: 'h', hostPath: { path: shared, type: 'Directory' } }],
        ),
      );
      await running('prop');
      // A mount made on the host after the containers started.
      await run('mount', ['-t', 'tmpfs', 'tmpfs', join(shared, 'later')]);
      mounted.unshift(join(shared, 'later'));
      writeFileSync(join(shared, 'later', 'file'), 'from-host-mount\n');
      assert.equal(await execIn('prop', 'watch', ['cat', '/h/later/file']), 'from-host-mount\n');
      // None (private): the container keeps the folder as it was when it started.
      assert.equal(await execIn('prop', 'plain', ['ls', '-A', '/h/later']), '');
      // Bidirectional: a mount made in the privileged container shows on the host.
      await execIn('prop', 'both', ['mount', '-t', 'tmpfs', 'tmpfs', '/h/fromctr']);
      mounted.unshift(join(shared, 'fromctr'));
      assert.ok(mountsUnder(shared).includes(join(shared, 'fromctr')), mountsUnder(shared).join('\n'));
      const r = await c.kubectl(['delete', 'pod', 'prop', '--timeout=60s']);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      for (const m of mounted) await run('umount', ['-l', m], { check: false });
    }
  });

  test('kill -9 of the agent re-adopts the volumes: same mounts, same files, no restart', async () => {
    const uid = (await c.json(['get', 'pod', 'vols'])).metadata.uid;
    const before = mountsUnder(join(podsDir, uid)).sort();
    assert.ok(before.length >= 3, before.join('\n'));
    await c.restart();
    await c.apply(podOf('after', [container('main', 'exec sleep 1000', [])], []));
    await running('after');
    assert.deepEqual(mountsUnder(join(podsDir, uid)).sort(), before);
    assert.equal(await execIn('vols', 'a', ['cat', '/mem/kept']), 'kept\n');
    const st = (await c.json(['get', 'pod', 'vols'])).status.containerStatuses;
    assert.deepEqual(
      st.map((x: { restartCount: number }) => x.restartCount),
      [0, 0],
    );
  });

  test('deleting the pods leaves no mount and no folder behind', async () => {
    const uids: string[] = [];
    for (const name of ['vols', 'nocfg', 'badhost', 'after']) {
      uids.push((await c.json(['get', 'pod', name])).metadata.uid);
      const r = await c.kubectl(['delete', 'pod', name, '--timeout=60s']);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.deepEqual(mountsUnder(podsDir), []);
    for (const uid of uids) assert.equal(existsSync(join(podsDir, uid)), false, uid);
    assert.deepEqual(readdirSync(podsDir), []);
  });

  test('server --cleanup unmounts every volume the agent left, so the data dir can be removed', async () => {
    await c.apply(
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'left' }, stringData: { k: 'v' } },
      podOf(
        'left',
        [
          container('main', 'exec sleep 1000', [
            { name: 's', mountPath: '/s' },
            { name: 'mem', mountPath: '/mem' },
          ]),
        ],
        [
          { name: 's', secret: { secretName: 'left' } },
          { name: 'mem', emptyDir: { medium: 'Memory' } },
        ],
      ),
    );
    await running('left');
    assert.ok(mountsUnder(c.dataDir).length >= 2, mountsUnder(c.dataDir).join('\n'));
    await c.stop();
    const r = await c.box.berth(['server', '--cleanup', '--data-dir', c.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /mount\(s\) under /);
    // Nothing the node made stays mounted anywhere in the sandbox: pins, overlays, volumes.
    assert.deepEqual(mountsUnder(c.box.dir), []);
    rmSync(join(c.dataDir, 'agent'), { recursive: true });
  });
});
