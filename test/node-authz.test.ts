// Node identity through the real kubectl: CertificateSigningRequests (a user's approved with
// `kubectl certificate approve` and then used; the embedded agent's own, approved for the join
// token and signed), the Node authorizer (a node reads only what its pods use, lists only its
// pods) and NodeRestriction (no other node, no restricted labels), and the join token that can
// do nothing but join. Pods run on the in-memory runtime: what is tested is the API.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KubeClient, Resources } from '../src/cluster/client/kube-client.js';
import { selfSignedCertificate } from './helpers/certificates.js';
import { startCluster, type TestCluster, until } from './helpers/cluster.js';

describe('node authorization', () => {
  let c: TestCluster;
  let server: string;
  let ca: string;
  const agentDir = () => join(c.dataDir, 'agent');
  before(async () => {
    c = await startCluster(undefined, {
      controllers: '*',
      agent: true,
      args: ['--pod-runtime', 'sim', '--node-name', 'n1', '--node-ip', '192.0.2.10', '--kubelet-port', '0'],
    });
    server = `https://127.0.0.1:${c.port}`;
    ca = readFileSync(join(agentDir(), 'ca.crt'), 'utf8');
  });
  after(() => c.box.cleanup());

  /** A kubeconfig for a client certificate or a token, written into the sandbox. */
  const kubeconfig = (name: string, user: Record<string, string>) => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const file = join(c.box.dir, `${name}.kubeconfig`);
    const fields = Object.entries(user)
      .map(([k, v]) => `    ${k}: ${k === 'token' ? v : b64(v)}`)
      .join('\n');
    writeFileSync(
      file,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${server}\n    certificate-authority-data: ${b64(ca)}\nusers:\n- name: u\n  user:\n${fields}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n`,
    );
    return file;
  };
  const nodeCreds = () => ({
    'client-certificate-data': readFileSync(join(agentDir(), 'client.pem'), 'utf8'),
    'client-key-data': readFileSync(join(agentDir(), 'client.pem'), 'utf8'),
  });
  const as = (file: string) => (args: string[], input?: string) =>
    c.kubectl(args, { env: { KUBECONFIG: file }, ...(input !== undefined ? { input } : {}) });
  const admin = (args: string[], input?: string) => c.ok(args, input);
  const nodeReady = () =>
    until('n1 Ready', async () => {
      const r = await c.kubectl([
        'get',
        'node',
        'n1',
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      ]);
      return r.stdout === 'True';
    });

  test('kubectl certificate approve signs a user CSR whose certificate then authenticates; deny leaves it unsigned', async () => {
    const key = join(c.box.dir, 'alice.key');
    const csr = execFileSync(
      'openssl',
      ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', '/CN=alice/O=devs'],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    ).toString();
    const request = (name: string) =>
      JSON.stringify({
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'CertificateSigningRequest',
        metadata: { name },
        spec: {
          request: Buffer.from(csr).toString('base64'),
          signerName: 'kubernetes.io/kube-apiserver-client',
          usages: ['client auth'],
          // The server writes who asked; a claim in the body is overwritten.
          username: 'mallory',
        },
      });
    await admin(['create', '-f', '-'], request('alice'));
    await admin(['create', '-f', '-'], request('alice-denied'));
    await admin(['certificate', 'approve', 'alice']);
    await admin(['certificate', 'deny', 'alice-denied']);
    let cert = '';
    await until('alice signed', async () => {
      cert = await admin(['get', 'csr', 'alice', '-o', 'jsonpath={.status.certificate}']);
      return cert !== '';
    });
    const got = JSON.parse(await admin(['get', 'csr', 'alice', '-o', 'json']));
    assert.equal(got.spec.username, 'admin');
    assert.equal(got.status.conditions[0].type, 'Approved');
    assert.equal(got.status.conditions[0].reason, 'KubectlApprove');
    const alice = kubeconfig('alice', {
      'client-certificate-data': Buffer.from(cert, 'base64').toString('utf8'),
      'client-key-data': readFileSync(key, 'utf8'),
    });
    const who = await as(alice)([
      'auth',
      'whoami',
      '-o',
      'jsonpath={.status.userInfo.username} {.status.userInfo.groups}',
    ]);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(who.stdout, 'alice ["devs","system:authenticated"]');
    assert.match(
      await admin(['get', 'csr', 'alice']),
      /alice\s+\S+\s+kubernetes.io\/kube-apiserver-client\s+admin\s+<none>\s+Approved,Issued/,
    );
    assert.match(await admin(['get', 'csr', 'alice-denied']), /Denied\s*$/m);
    const denied = JSON.parse(await admin(['get', 'csr', 'alice-denied', '-o', 'json']));
    assert.equal(denied.status.conditions[0].type, 'Denied');
    assert.equal(denied.status.certificate, undefined);
  });

  test('the csrcleaner removes a request once the certificate issued for it has expired', async () => {
    await admin(['create', '-f', '-'], csrObject('expired', 'example.com/test', '/CN=old'));
    await admin(['certificate', 'approve', 'expired']);
    // Whoever signs for example.com writes the certificate; this one ended a day ago.
    const ended = selfSignedCertificate(new Date(Date.now() - 86_400_000), 'old');
    await admin([
      'patch',
      'csr',
      'expired',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { certificate: Buffer.from(ended).toString('base64') } }),
    ]);
    await admin(['wait', '--for=delete', 'csr/expired', '--timeout=60s']);
  });

  /** A PEM certificate request for `subject` (openssl's -subj form), with a fresh key. */
  const openSslRequest = (subject: string) =>
    execFileSync(
      'openssl',
      ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', '/dev/null', '-subj', subject],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    ).toString();
  const csrObject = (name: string, signerName: string, subject: string) =>
    JSON.stringify({
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name },
      spec: {
        request: Buffer.from(openSslRequest(subject)).toString('base64'),
        signerName,
        usages: ['client auth'],
      },
    });

  test('approving, denying and signing need approve or sign on the signer: a limited user through kubectl', async () => {
    const issued = await c.box.berth(['kubeconfig', '--data-dir', c.dataDir, '--user', 'carol']);
    assert.equal(issued.code, 0, issued.stderr);
    const carolConfig = join(c.box.dir, 'carol.kubeconfig');
    writeFileSync(carolConfig, issued.stdout);
    const carol = as(carolConfig);
    const g = 'certificates.k8s.io';
    await admin(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRole',
            metadata: { name: 'widget-approver' },
            rules: [
              { verbs: ['get', 'list', 'watch'], apiGroups: [g], resources: ['certificatesigningrequests'] },
              {
                verbs: ['get', 'update', 'patch'],
                apiGroups: [g],
                resources: ['certificatesigningrequests/approval', 'certificatesigningrequests/status'],
              },
              {
                verbs: ['approve'],
                apiGroups: [g],
                resources: ['signers'],
                resourceNames: ['example.com/*'],
              },
            ],
          },
          {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRoleBinding',
            metadata: { name: 'carol-widget-approver' },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'widget-approver' },
            subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'carol' }],
          },
        ],
      }),
    );
    await admin(
      ['create', '-f', '-'],
      csrObject('for-apiserver', 'kubernetes.io/kube-apiserver-client', '/CN=dave'),
    );
    await admin(['create', '-f', '-'], csrObject('widget-a', 'example.com/widgets', '/CN=widget-a'));
    await admin(['create', '-f', '-'], csrObject('widget-b', 'example.com/widgets', '/CN=widget-b'));
    for (const verb of ['approve', 'deny']) {
      const refused = await carol(['certificate', verb, 'for-apiserver']);
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stderr,
        /certificatesigningrequests.certificates.k8s.io "for-apiserver" is forbidden: user not permitted to approve requests with signerName "kubernetes.io\/kube-apiserver-client"/,
      );
    }
    const approved = await carol(['certificate', 'approve', 'widget-a']);
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /certificatesigningrequest.certificates.k8s.io\/widget-a approved/);
    const denied = await carol(['certificate', 'deny', 'widget-b']);
    assert.equal(denied.code, 0, denied.stderr);
    // Writing the certificate is signing: carol may write the status, but is no signer.
    const signed = await carol([
      'patch',
      'csr',
      'widget-a',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { certificate: Buffer.from('not really').toString('base64') } }),
    ]);
    assert.notEqual(signed.code, 0);
    assert.match(
      signed.stderr,
      /certificatesigningrequests.certificates.k8s.io "widget-a" is forbidden: user not permitted to sign requests with signerName "example.com\/widgets"/,
    );
    // Upstream's approver role for the signer lets her approve it.
    await admin([
      'create',
      'clusterrolebinding',
      'carol-client-approver',
      '--clusterrole=system:certificates.k8s.io:kube-apiserver-client-approver',
      '--user=carol',
    ]);
    const now = await carol(['certificate', 'approve', 'for-apiserver']);
    assert.equal(now.code, 0, now.stderr);
  });

  test('nobody may ask the kube-apiserver-client signer for system:masters, the admin included', async () => {
    const r = await c.kubectl(['create', '-f', '-'], {
      input: csrObject('masters', 'kubernetes.io/kube-apiserver-client', '/CN=eve/O=system:masters'),
    });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /certificatesigningrequests.certificates.k8s.io "masters" is forbidden: use of kubernetes.io\/kube-apiserver-client signer with system:masters group is not allowed/,
    );
  });

  test('the embedded agent joined through two CSRs: its client one approved for the join token, its serving one for its own addresses', async () => {
    await nodeReady();
    // The serving certificate is asked for once the Node reports its addresses.
    await until('the serving certificate saved', async () => existsSync(join(agentDir(), 'serving.pem')));
    const csrs = JSON.parse(await admin(['get', 'csr', '-o', 'json'])).items.filter(
      (x: { metadata: { name: string } }) => x.metadata.name.startsWith('node-csr-'),
    );
    const bySigner = Object.fromEntries(
      csrs.map((x: { spec: { signerName: string } }) => [x.spec.signerName, x]),
    );
    const client = bySigner['kubernetes.io/kube-apiserver-client-kubelet'];
    assert.equal(client.spec.username, 'system:bootstrap:berth');
    assert.ok(client.spec.groups.includes('system:bootstrappers'));
    assert.equal(client.status.conditions[0].reason, 'AutoApproved');
    const serving = bySigner['kubernetes.io/kubelet-serving'];
    assert.equal(serving.spec.username, 'system:node:n1');
    assert.equal(serving.status.conditions[0].reason, 'AutoApproved');
    // It names exactly the addresses the Node reports.
    const cert = new X509Certificate(readFileSync(join(agentDir(), 'serving.pem')));
    assert.equal(cert.subjectAltName, 'DNS:n1, IP Address:192.0.2.10');
    assert.match(
      new X509Certificate(readFileSync(join(agentDir(), 'client.pem'))).subject,
      /CN=system:node:n1/,
    );
  });

  test('a node reads the Secret its pod uses, not another, and gets only its own pods', async () => {
    await nodeReady();
    await admin(['create', 'secret', 'generic', 'used', '--from-literal=a=b']);
    await admin(['create', 'secret', 'generic', 'unused', '--from-literal=a=b']);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'uses-secret' },
      spec: {
        nodeName: 'n1',
        containers: [
          {
            name: 'c',
            image: 'busybox',
            env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'used', key: 'a' } } }],
          },
        ],
      },
    };
    await admin(['apply', '-f', '-'], JSON.stringify(pod));
    const node = as(kubeconfig('node', nodeCreds()));
    const ok = await node(['get', 'secret', 'used', '-o', 'name']);
    assert.equal(ok.code, 0, ok.stderr);
    const refused = await node(['get', 'secret', 'unused']);
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /secrets "unused" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'n1' and this object/,
    );
    assert.match((await node(['get', 'secrets'])).stderr, /No Object name found/);
    // One it uses may be watched by name, as the kubelet's secret manager does.
    const watched = await node(['get', 'secrets', '--field-selector', 'metadata.name=used', '-o', 'name']);
    assert.equal(watched.code, 0, watched.stderr);
    assert.match(watched.stdout, /secret\/used/);
    // Every pod may be listed and watched (system:berth-network-policy: NetworkPolicy peers run
    // on any node), but not read one by one nor changed.
    const all = await node(['get', 'pods', '-o', 'name']);
    assert.equal(all.code, 0, all.stderr);
    const own = await node(['get', 'pods', '--field-selector', 'spec.nodeName=n1', '-o', 'name']);
    assert.equal(own.code, 0, own.stderr);
    assert.match(own.stdout, /pod\/uses-secret/);
    // A pod bound elsewhere is not the node's to delete.
    await admin(
      ['apply', '-f', '-'],
      JSON.stringify({ ...pod, metadata: { name: 'elsewhere' }, spec: { ...pod.spec, nodeName: 'n9' } }),
    );
    assert.match(
      (await node(['delete', 'pod', 'elsewhere', '--wait=false'])).stderr,
      /node "n1" can only delete pods with spec.nodeName set to itself/,
    );
    assert.equal((await admin(['get', 'pod', 'elsewhere', '-o', 'name'])).trim(), 'pod/elsewhere');
    // A pod that is gone is NotFound to a node too (as upstream), not Forbidden.
    assert.match(
      (await node(['delete', 'pod', 'never-was', '--wait=false'])).stderr,
      /NotFound.*pods "never-was" not found/,
    );
    assert.match((await node(['get', 'pod', 'elsewhere'])).stderr, /no relationship found between node 'n1'/);
    assert.match((await node(['create', 'configmap', 'x'])).stderr, /forbidden/);
    // Every Node may be listed (system:node-proxier: the Service proxy and the pod network need
    // the others' addresses), but another one not read by name.
    await admin(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n-other' } }),
    );
    const nodes = await node(['get', 'nodes', '-o', 'name']);
    assert.equal(nodes.code, 0, nodes.stderr);
    assert.match(nodes.stdout, /node\/n-other/);
    assert.match(
      (await node(['get', 'node', 'n-other'])).stderr,
      /nodes "n-other" is forbidden: User "system:node:n1" cannot get resource "nodes" .*node 'n1' cannot read 'n-other', only its own Node object/,
    );
    // Tokens for its pods' ServiceAccount, only bound to one of its pods (NodeRestriction).
    const api = new KubeClient({
      server,
      ca,
      cert: nodeCreds()['client-certificate-data'],
      key: nodeCreds()['client-key-data'],
    });
    const tokenPath = '/api/v1/namespaces/default/serviceaccounts/default/token';
    const tokenRequest = (spec: Record<string, unknown>) =>
      api.request<{ status: { token?: string } }>('POST', tokenPath, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec,
      });
    try {
      await assert.rejects(
        tokenRequest({}),
        /serviceaccounts "default" is forbidden: node requested token not bound to a pod/,
      );
      const uid = (await admin(['get', 'pod', 'uses-secret', '-o', 'jsonpath={.metadata.uid}'])).trim();
      const ref = (name: string, u: string) => ({
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name, uid: u },
      });
      await assert.rejects(
        tokenRequest(
          ref(
            'elsewhere',
            (await admin(['get', 'pod', 'elsewhere', '-o', 'jsonpath={.metadata.uid}'])).trim(),
          ),
        ),
        /node requested token bound to a pod scheduled on a different node/,
      );
      assert.ok((await tokenRequest(ref('uses-secret', uid))).status.token);
    } finally {
      api.close();
    }
  });

  test("a node reads the Secrets its pods' PersistentVolumes name (CSI, iSCSI), not others", async () => {
    await nodeReady();
    for (const name of ['csi-publish', 'chap', 'csi-unused'])
      await admin(['create', 'secret', 'generic', name, '--from-literal=a=b']);
    const volume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pv-secrets' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        claimRef: { namespace: 'default', name: 'claim-secrets' },
        csi: {
          driver: 'example.com/csi',
          volumeHandle: 'h1',
          nodePublishSecretRef: { name: 'csi-publish', namespace: 'default' },
        },
      },
    };
    const claim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'claim-secrets' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
        volumeName: 'pv-secrets',
        storageClassName: '',
      },
    };
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'uses-claim' },
      spec: {
        nodeName: 'n1',
        containers: [{ name: 'c', image: 'busybox' }],
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'claim-secrets' } }],
      },
    };
    for (const o of [volume, claim, pod]) await admin(['apply', '-f', '-'], JSON.stringify(o));
    const node = as(kubeconfig('node-pv', nodeCreds()));
    const read = await node(['get', 'secret', 'csi-publish', '-o', 'name']);
    assert.equal(read.code, 0, read.stderr);
    assert.match((await node(['get', 'secret', 'chap'])).stderr, /no relationship found between node 'n1'/);
    // The volume's iSCSI CHAP secret, without a namespace: the claim's.
    await admin([
      'patch',
      'pv',
      'pv-secrets',
      '--type=merge',
      '-p',
      JSON.stringify({
        spec: {
          csi: null,
          iscsi: {
            targetPortal: '192.0.2.1:3260',
            iqn: 'iqn.2026-01.com.example:t',
            lun: 0,
            secretRef: { name: 'chap' },
          },
        },
      }),
    ]);
    const chap = await node(['get', 'secret', 'chap', '-o', 'name']);
    assert.equal(chap.code, 0, chap.stderr);
    assert.match(
      (await node(['get', 'secret', 'csi-publish'])).stderr,
      /no relationship found between node 'n1'/,
      'the volume no longer names it',
    );
    assert.match((await node(['get', 'secret', 'csi-unused'])).stderr, /no relationship found/);
  });

  test('NodeRestriction: a node may not change another node nor its own restricted labels', async () => {
    await nodeReady();
    await admin(
      ['create', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2' } }),
    );
    const node = as(kubeconfig('node', nodeCreds()));
    // kubectl reads before it patches: reading another Node is refused already.
    assert.match(
      (await node(['label', 'node', 'n2', 'x=y'])).stderr,
      /node 'n1' cannot read 'n2', only its own Node object/,
    );
    const client = new KubeClient({
      server,
      ca,
      cert: nodeCreds()['client-certificate-data'],
      key: nodeCreds()['client-key-data'],
    });
    try {
      await assert.rejects(
        client.patch(Resources.nodes, undefined, 'n2', { metadata: { labels: { x: 'y' } } }),
        /nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"/,
      );
    } finally {
      client.close();
    }
    assert.match(
      (await node(['label', 'node', 'n1', 'node-restriction.kubernetes.io/trusted=yes'])).stderr,
      /node "n1" is not allowed to modify labels: node-restriction.kubernetes.io\/trusted/,
    );
    const own = await node(['label', 'node', 'n1', 'example.com/ok=yes']);
    assert.equal(own.code, 0, own.stderr);
  });

  test('the join token can only join: it creates CSRs, and listing pods or reading Secrets is refused', async () => {
    const secret = readFileSync(join(c.dataDir, 'node-token'), 'utf8').trim().split('::server:')[1]!;
    const token = as(kubeconfig('bootstrap', { token: secret }));
    const pods = await token(['get', 'pods']);
    assert.notEqual(pods.code, 0);
    assert.match(
      pods.stderr,
      /pods is forbidden: User "system:bootstrap:berth" cannot list resource "pods" in API group "" in the namespace "default"/,
    );
    assert.match((await token(['get', 'secret', 'used'])).stderr, /forbidden/);
    assert.match((await token(['get', 'nodes'])).stderr, /forbidden/);
    const can = await token(['auth', 'can-i', 'create', 'certificatesigningrequests.certificates.k8s.io']);
    assert.equal(can.stdout.trim(), 'yes');
  });
});
