import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { terminationMessage } from './container-spec.js';
import { credentialFor, pullCredentials } from './pull-secrets.js';
import { hostsFile, kubeletHostsLines, sandboxConfig } from './sandbox-config.js';
import { checkRunAsNonRoot, effectiveSecurity, engineUser } from './security-context.js';

const ref = { name: 'p', namespace: 'ns', uid: 'u1' };

test('the container securityContext wins over the pod one; pod-only and container-only fields', () => {
  const s = effectiveSecurity(
    {
      securityContext: {
        runAsUser: 1,
        runAsGroup: 2,
        runAsNonRoot: true,
        supplementalGroups: [5, 6],
        fsGroup: 7,
        seccompProfile: { type: 'RuntimeDefault' },
        sysctls: [{ name: 'net.ipv4.ip_local_port_range', value: '1024 2048' }],
      },
    },
    {
      securityContext: {
        runAsUser: 10,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
      },
    },
  );
  assert.deepEqual(s, {
    runAsUser: 10,
    runAsGroup: 2,
    runAsNonRoot: true,
    supplementalGroups: [5, 6, 7],
    readOnlyRootFilesystem: true,
    privileged: false,
    capAdd: ['NET_ADMIN'],
    capDrop: ['ALL'],
    noNewPrivileges: true,
    seccomp: { type: 'RuntimeDefault' },
    sysctls: { 'net.ipv4.ip_local_port_range': '1024 2048' },
  });
  // Kubernetes' default profile is Unconfined; no_new_privs only when asked.
  const d = effectiveSecurity({}, {});
  assert.deepEqual(d.seccomp, { type: 'Unconfined' });
  assert.equal(d.noNewPrivileges, false);
});

test('unsafe sysctls, Unmasked procMount and escaping Localhost profiles are refused', () => {
  assert.throws(
    () => effectiveSecurity({ securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '1' }] } }, {}),
    /Pod forbidden sysctl: "kernel.msgmax" not allowlisted/,
  );
  assert.throws(
    () => effectiveSecurity({}, { securityContext: { procMount: 'Unmasked' } }),
    /procMount "Unmasked" needs a user namespace/,
  );
  assert.throws(
    () =>
      effectiveSecurity(
        {},
        { securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: '../x' } } },
      ),
    /Invalid seccompProfile localhostProfile "..\/x"/,
  );
});

test("runAsNonRoot: the kubelet's checks against runAsUser or the image's user", () => {
  const s = (o: object) => ({ ...effectiveSecurity({ securityContext: { runAsNonRoot: true } }, {}), ...o });
  assert.throws(
    () => checkRunAsNonRoot(s({}), '', ref, 'c'),
    /container has runAsNonRoot and image will run as root \(pod: "p_ns\(u1\)", container: c\)$/,
  );
  assert.throws(() => checkRunAsNonRoot(s({}), '0:0', ref, 'c'), /image will run as root/);
  assert.throws(
    () => checkRunAsNonRoot(s({}), 'nobody', ref, 'c'),
    /image has non-numeric user \(nobody\), cannot verify user is non-root/,
  );
  assert.throws(
    () => checkRunAsNonRoot(s({ runAsUser: 0 }), '1000', ref, 'c'),
    /runAsUser breaks non-root policy/,
  );
  checkRunAsNonRoot(s({}), '1000:1000', ref, 'c');
  checkRunAsNonRoot(s({ runAsUser: 5 }), 'root', ref, 'c');
});

test('the engine user from runAsUser and runAsGroup, keeping the image user when only the group is given', () => {
  const base = effectiveSecurity({}, {});
  assert.equal(engineUser(base, 'bob'), undefined);
  assert.equal(engineUser({ ...base, runAsUser: 7 }, 'bob'), '7');
  assert.equal(engineUser({ ...base, runAsUser: 7, runAsGroup: 8 }, 'bob'), '7:8');
  assert.equal(engineUser({ ...base, runAsGroup: 8 }, 'bob:staff'), 'bob:8');
  assert.equal(engineUser({ ...base, runAsGroup: 8 }, ''), '0:8');
});

test("the managed /etc/hosts: the kubelet's lines, the pod's names, hostAliases", () => {
  const pod = {
    metadata: { name: 'web-0', namespace: 'ns', uid: 'u1' },
    spec: {
      hostname: 'web-0',
      subdomain: 'web',
      hostAliases: [{ ip: '10.1.2.3', hostnames: ['a', 'b'] }],
      containers: [],
    },
  } as KubeObject;
  const cfg = sandboxConfig(pod);
  assert.equal(cfg.hostname, 'web-0');
  const text = hostsFile({ ip: '10.42.0.5', hostname: 'web-0', namespace: 'ns', spec: cfg.podSpec! });
  // The kubelet's own opening, as upstream's managedHostsFileContent writes it.
  assert.ok(
    text.startsWith('# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost'),
  );
  assert.equal(
    text,
    [
      ...kubeletHostsLines,
      '10.42.0.5\tweb-0.web.ns.svc.cluster.local\tweb-0',
      '',
      '# Entries added by HostAliases.',
      '10.1.2.3\ta\tb',
      '',
    ].join('\n'),
  );
  const host = hostsFile({
    ip: '',
    hostname: 'n',
    namespace: 'ns',
    spec: { ...cfg.podSpec!, hostAliases: [] },
    nodeHosts: '127.0.0.1 localhost\n',
  });
  assert.equal(host, '# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n');
  assert.equal(cfg.podSpec?.cgroupPath, '/kubepods/besteffort/podu1');
});

test('termination message: the file, or the log tail with FallbackToLogsOnError on failure only', () => {
  const log = () => 'last lines\n';
  assert.equal(terminationMessage('why', 'FallbackToLogsOnError', 1, log), 'why');
  assert.equal(terminationMessage('', 'FallbackToLogsOnError', 1, log), 'last lines\n');
  assert.equal(terminationMessage('', 'FallbackToLogsOnError', 0, log), '');
  assert.equal(terminationMessage('', 'File', 1, log), '');
  assert.equal(terminationMessage('', 'FallbackToLogsOnError', 1, () => 'x'.repeat(5000)).length, 2048);
});

test('imagePullSecrets: dockerconfigjson and dockercfg credentials, picked by registry host', async () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const secrets: Record<string, KubeObject> = {
    json: {
      metadata: { name: 'json' },
      data: {
        '.dockerconfigjson': b64(
          JSON.stringify({ auths: { 'reg.example:5000': { auth: b64('alice:pw:with:colons') } } }),
        ),
      },
    } as KubeObject,
    legacy: {
      metadata: { name: 'legacy' },
      data: {
        '.dockercfg': b64(
          JSON.stringify({ 'https://index.docker.io/v1/': { username: 'bob', password: 'x' } }),
        ),
      },
    } as KubeObject,
  };
  const pod = {
    metadata: { name: 'p', namespace: 'ns' },
    spec: { imagePullSecrets: [{ name: 'json' }, { name: 'missing' }, { name: 'legacy' }] },
  } as KubeObject;
  const creds = await pullCredentials(pod, {
    configMap: async () => undefined,
    secret: async (_ns, name) => secrets[name],
  });
  assert.equal(creds.length, 2);
  assert.deepEqual(credentialFor('reg.example:5000/app:1', creds), {
    registry: 'reg.example:5000',
    username: 'alice',
    password: 'pw:with:colons',
  });
  assert.equal(credentialFor('busybox', creds)?.username, 'bob');
  assert.equal(credentialFor('other.example/app', creds), undefined);
});
