// RBAC, ServiceAccount tokens and user certificates with the real kubectl against a real
// `berth server`: a limited ServiceAccount and a limited user for each verb class, escalation
// and bind refused, aggregation, impersonation, access and rules reviews, and tokens refused
// for the wrong audience, below ten minutes, or once their ServiceAccount or bound object is gone.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { run } from '../src/core/exec.js';
import { startCluster, type TestCluster } from './helpers/cluster.js';
import { berthBin } from './helpers/sandbox.js';
import { until } from './helpers/until.js';

describe('RBAC with kubectl', () => {
  let c: TestCluster;
  let n = 0;
  const kc = async (args: string[], opts: { kubeconfig?: string; input?: string } = {}) =>
    c.kubectl([...(opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : []), ...args], {
      ...(opts.input !== undefined ? { input: opts.input } : {}),
    });
  const ok = async (args: string[], opts: { kubeconfig?: string; input?: string } = {}) => {
    const r = await kc(args, opts);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  const refused = async (args: string[], message: RegExp | string, opts: { kubeconfig?: string } = {}) => {
    const r = await kc(args, opts);
    assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} succeeded: ${r.stdout}`);
    if (typeof message === 'string') assert.ok(r.stderr.includes(message), r.stderr);
    else assert.match(r.stderr, message);
  };
  /** A kubeconfig that presents only `token` (the admin one also carries a client certificate). */
  const tokenKubeconfig = (token: string) => {
    const cfg = parse(readFileSync(c.kubeconfig, 'utf8')) as {
      users: { name: string; user: Record<string, string> }[];
    };
    cfg.users = [{ name: 'admin', user: { token } }];
    const p = join(c.box.dir, `token-${n++}.yaml`);
    writeFileSync(p, stringify(cfg), { mode: 0o600 });
    return p;
  };
  const userKubeconfig = async (user: string, groups: string[]) => {
    const r = await run(berthBin, [
      'kubeconfig',
      '--data-dir',
      c.dataDir,
      '--user',
      user,
      ...groups.flatMap((g) => ['--group', g]),
    ]);
    const p = join(c.box.dir, `${user}.yaml`);
    writeFileSync(p, r.stdout, { mode: 0o600 });
    return p;
  };

  before(async () => {
    c = await startCluster(undefined);
    await ok(['create', 'namespace', 'team']);
    // Pods run as the namespace's `default` ServiceAccount; with no controllers running, the
    // test makes it.
    await ok(['-n', 'team', 'create', 'serviceaccount', 'default']);
  });
  after(async () => {
    await c?.stop();
    await c?.box.cleanup();
  });

  test('a ServiceAccount with a Role reads pods in its namespace and nothing else', async () => {
    await ok(['-n', 'team', 'create', 'serviceaccount', 'reader']);
    await ok(['-n', 'team', 'create', 'role', 'pod-reader', '--verb=get,list,watch', '--resource=pods']);
    await ok([
      '-n',
      'team',
      'create',
      'rolebinding',
      'reader',
      '--role=pod-reader',
      '--serviceaccount=team:reader',
    ]);
    const sa = tokenKubeconfig(await ok(['-n', 'team', 'create', 'token', 'reader']));
    await ok(['-n', 'team', 'run', 'web', '--image=busybox:1.36']);
    assert.equal(await ok(['-n', 'team', 'get', 'pods', '-o', 'name'], { kubeconfig: sa }), 'pod/web');
    assert.equal(await ok(['-n', 'team', 'get', 'pod', 'web', '-o', 'name'], { kubeconfig: sa }), 'pod/web');
    assert.equal(await ok(['-n', 'team', 'auth', 'can-i', 'watch', 'pods'], { kubeconfig: sa }), 'yes');
    await refused(
      ['-n', 'team', 'delete', 'pod', 'web'],
      'pods "web" is forbidden: User "system:serviceaccount:team:reader" cannot delete resource "pods" in API group "" in the namespace "team"',
      { kubeconfig: sa },
    );
    await refused(
      ['-n', 'team', 'get', 'secrets'],
      'secrets is forbidden: User "system:serviceaccount:team:reader" cannot list resource "secrets" in API group "" in the namespace "team"',
      { kubeconfig: sa },
    );
    await refused(['-n', 'default', 'get', 'pods'], /in the namespace "default"/, { kubeconfig: sa });
    await refused(
      ['get', 'nodes'],
      'nodes is forbidden: User "system:serviceaccount:team:reader" cannot list resource "nodes" in API group "" at the cluster scope',
      { kubeconfig: sa },
    );
    await refused(['-n', 'team', 'create', 'configmap', 'x'], /cannot create resource "configmaps"/, {
      kubeconfig: sa,
    });
    await refused(['-n', 'team', 'label', 'pod', 'web', 'a=b'], /cannot patch resource "pods"/, {
      kubeconfig: sa,
    });
    await refused(
      ['get', '--raw', '/metrics'],
      'forbidden: User "system:serviceaccount:team:reader" cannot get path "/metrics"',
      {
        kubeconfig: sa,
      },
    );
    const list = await ok(['-n', 'team', 'auth', 'can-i', '--list'], { kubeconfig: sa });
    assert.match(list, /^pods\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
    assert.doesNotMatch(list, /secrets/);
    // OIDC discovery is open to ServiceAccounts.
    const oidc = JSON.parse(
      await ok(['get', '--raw', '/.well-known/openid-configuration'], { kubeconfig: sa }),
    );
    assert.equal(oidc.issuer, 'https://kubernetes.default.svc');
    const keys = JSON.parse(await ok(['get', '--raw', '/openid/v1/jwks'], { kubeconfig: sa }));
    assert.equal(keys.keys[0].alg, 'ES256');
  });

  test('a user certificate from berth kubeconfig --user gets what its group is bound to', async () => {
    const alice = await userKubeconfig('alice', ['devs']);
    assert.match(await ok(['auth', 'whoami'], { kubeconfig: alice }), /alice[\s\S]*devs/);
    await refused(['-n', 'team', 'get', 'configmaps'], /User "alice" cannot list resource "configmaps"/, {
      kubeconfig: alice,
    });
    await ok(['-n', 'team', 'create', 'rolebinding', 'devs-edit', '--clusterrole=edit', '--group=devs']);
    await ok(['-n', 'team', 'create', 'configmap', 'made-by-alice', '--from-literal=a=b'], {
      kubeconfig: alice,
    });
    await ok(['-n', 'team', 'delete', 'configmap', 'made-by-alice'], { kubeconfig: alice });
    await ok(['-n', 'team', 'get', 'secrets'], { kubeconfig: alice });
    await refused(['-n', 'default', 'create', 'configmap', 'x'], /in the namespace "default"/, {
      kubeconfig: alice,
    });
    await refused(
      ['-n', 'team', 'get', 'roles'],
      /cannot list resource "roles" in API group "rbac.authorization.k8s.io"/,
      {
        kubeconfig: alice,
      },
    );
    await refused(
      ['delete', 'namespace', 'team'],
      'namespaces "team" is forbidden: User "alice" cannot delete resource "namespaces"',
      {
        kubeconfig: alice,
      },
    );
    const bad = await run(berthBin, ['kubeconfig', '--data-dir', c.dataDir, '--group', 'x'], {
      check: false,
    });
    assert.match(bad.stderr, /--group needs --user/);
  });

  test('escalation and bind are refused; escalate and bind verbs allow them', async () => {
    const bob = await userKubeconfig('bob', []);
    await ok(['-n', 'team', 'create', 'rolebinding', 'bob-admin', '--clusterrole=admin', '--user=bob']);
    // admin holds secrets: a Role granting them is fine; nodes (cluster-scoped) it does not hold.
    await ok(['-n', 'team', 'create', 'role', 'secret-reader', '--verb=get', '--resource=secrets'], {
      kubeconfig: bob,
    });
    await refused(
      ['-n', 'team', 'create', 'role', 'node-reader', '--verb=get', '--resource=nodes'],
      /roles.rbac.authorization.k8s.io "node-reader" is forbidden: user "bob" \(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\[""\], Resources:\["nodes"\], Verbs:\["get"\]\}/,
      { kubeconfig: bob },
    );
    await refused(
      ['-n', 'team', 'create', 'rolebinding', 'bob-root', '--clusterrole=cluster-admin', '--user=bob'],
      /rolebindings.rbac.authorization.k8s.io "bob-root" is forbidden: user "bob" .* is attempting to grant RBAC permissions not currently held/,
      { kubeconfig: bob },
    );
    await ok(['-n', 'team', 'create', 'rolebinding', 'bob-view', '--clusterrole=view', '--user=carol'], {
      kubeconfig: bob,
    });
    await ok([
      'create',
      'clusterrole',
      'bind-cluster-admin',
      '--verb=bind',
      '--resource=clusterroles',
      '--resource-name=cluster-admin',
    ]);
    await ok(['create', 'clusterrolebinding', 'bob-binds', '--clusterrole=bind-cluster-admin', '--user=bob']);
    await ok(
      ['-n', 'team', 'create', 'rolebinding', 'bob-root', '--clusterrole=cluster-admin', '--user=dave'],
      { kubeconfig: bob },
    );
    // A binding's role never changes.
    await refused(
      ['-n', 'team', 'patch', 'rolebinding', 'bob-view', '-p', '{"roleRef":{"name":"edit"}}'],
      /cannot change roleRef/,
    );
  });

  test('aggregation: a ClusterRole labelled aggregate-to-view reaches view, edit and admin', async () => {
    await ok(['apply', '-f', '-'], {
      input: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: widgets-view
  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
rules:
- {apiGroups: [example.com], resources: [widgets], verbs: [get, list, watch]}
`,
    });
    for (const role of ['view', 'edit', 'admin'])
      await until(`${role} aggregates widgets`, async () =>
        (await ok(['get', 'clusterrole', role, '-o', 'json'])).includes('"widgets"'),
      );
    assert.match(
      await ok(['get', 'clusterrole', 'view', '-o', 'jsonpath={.aggregationRule}']),
      /aggregate-to-view/,
    );
  });

  test('impersonation with --as and --as-group, and access reviews', async () => {
    await refused(
      ['-n', 'team', 'get', 'configmaps', '--as', 'erin'],
      /User "erin" cannot list resource "configmaps"/,
    );
    await ok(['-n', 'team', 'get', 'configmaps', '--as', 'erin', '--as-group', 'devs']);
    const alice = await userKubeconfig('alice2', ['devs']);
    await refused(
      ['-n', 'team', 'get', 'pods', '--as', 'bob'],
      'users "bob" is forbidden: User "alice2" cannot impersonate resource "users" in API group "" at the cluster scope',
      { kubeconfig: alice },
    );
    assert.equal((await kc(['auth', 'can-i', 'delete', 'namespaces', '--as', 'erin'])).stdout.trim(), 'no');
    const sar = JSON.parse(
      await ok(['create', '-o', 'json', '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: 'system:anonymous',
            groups: ['system:unauthenticated'],
            resourceAttributes: { verb: 'delete', resource: 'namespaces', name: 'default' },
          },
        }),
      }),
    );
    assert.equal(sar.status.allowed, false);
    assert.equal(
      await ok(['-n', 'team', 'auth', 'can-i', 'create', 'configmaps', '--as', 'x', '--as-group', 'devs']),
      'yes',
    );
  });

  test('TokenRequest: audiences, expiry, and tokens dead with their ServiceAccount or bound Secret', async () => {
    await ok(['create', 'serviceaccount', 'bot']);
    const vault = await ok(['create', 'token', 'bot', '--audience', 'vault', '--duration', '15m']);
    const claims = JSON.parse(Buffer.from(vault.split('.')[1] as string, 'base64url').toString());
    assert.deepEqual(claims.aud, ['vault']);
    assert.equal(claims.exp - claims.iat, 900);
    const review = (token: string, audiences?: string[]) =>
      ok(['create', '-o', 'json', '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token, ...(audiences ? { audiences } : {}) },
        }),
      }).then((s) => JSON.parse(s).status);
    const forVault = await review(vault, ['vault']);
    assert.deepEqual([forVault.authenticated, forVault.audiences], [true, ['vault']]);
    assert.equal((await review(vault)).authenticated, false, 'not for the API server');
    await refused(['get', 'pods'], /Unauthorized|must be logged in/, { kubeconfig: tokenKubeconfig(vault) });
    await refused(
      ['create', 'token', 'bot', '--duration', '5m'],
      /may not specify a duration less than 10 minutes/,
    );

    const apiToken = tokenKubeconfig(await ok(['create', 'token', 'bot']));
    await ok(['create', 'secret', 'generic', 'anchor']);
    const bound = tokenKubeconfig(
      await ok(['create', 'token', 'bot', '--bound-object-kind', 'Secret', '--bound-object-name', 'anchor']),
    );
    assert.match(await ok(['auth', 'whoami'], { kubeconfig: bound }), /system:serviceaccount:default:bot/);
    await ok(['delete', 'secret', 'anchor']);
    await refused(['auth', 'whoami'], /Unauthorized|must be logged in/, { kubeconfig: bound });
    assert.match(await ok(['auth', 'whoami'], { kubeconfig: apiToken }), /system:serviceaccount:default:bot/);
    await ok(['delete', 'serviceaccount', 'bot']);
    await refused(['auth', 'whoami'], /Unauthorized|must be logged in/, { kubeconfig: apiToken });
    // A new account of the same name has a new uid: the old token stays dead.
    await ok(['create', 'serviceaccount', 'bot']);
    await refused(['auth', 'whoami'], /Unauthorized|must be logged in/, { kubeconfig: apiToken });
  });

  test('the bootstrap policy is served and the admin is in system:masters', async () => {
    const names = (await ok(['get', 'clusterroles', '-o', 'name'])).split('\n');
    for (const r of [
      'cluster-admin',
      'admin',
      'edit',
      'view',
      'system:discovery',
      'system:basic-user',
      'system:public-info-viewer',
      'system:node',
      'system:kube-controller-manager',
      'system:kube-scheduler',
    ])
      assert.ok(names.includes(`clusterrole.rbac.authorization.k8s.io/${r}`), r);
    assert.match(await ok(['auth', 'whoami']), /system:masters/);
    assert.match(
      await ok(['get', 'clusterrolebinding', 'cluster-admin', '-o', 'wide']),
      /ClusterRole\/cluster-admin.*system:masters/,
    );
  });
});
