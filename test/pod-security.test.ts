// Pod Security admission configured by --admission-control-config-file, through the real
// kubectl: the defaults judge namespaces without labels, exempt namespaces, users and runtime
// classes are let through, a namespace pinned to an older policy version is judged by that
// version's checks, baseline's AppArmor, SELinux, /proc mount, sysctl and hostProcess checks
// refuse with upstream's texts, and a bad configuration stops the start naming the field.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run } from '../src/core/exec.js';
import { startCluster, type TestCluster, until } from './helpers/cluster.js';
import { berthBin } from './helpers/sandbox.js';

const podYaml = (name: string, container: string, spec = '') =>
  `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec: {${spec}containers: [${container}]}\n`;
const privileged = (name: string, spec = '') =>
  podYaml(name, '{name: c, image: x, securityContext: {privileged: true}}', spec);

describe('Pod Security configuration', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster(undefined, { controllers: 'serviceaccount' });
    await c.stop('SIGTERM');
    const podSecurity = join(c.box.dir, 'pod-security.yaml');
    writeFileSync(
      podSecurity,
      'apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\ndefaults:\n  enforce: baseline\n  warn: restricted\n  warn-version: v1.30\nexemptions:\n  usernames: [ops]\n  runtimeClasses: [trusted]\n  namespaces: [infra]\n',
    );
    const config = join(c.box.dir, 'admission.yaml');
    // The plugin's configuration by path, relative to the AdmissionConfiguration.
    writeFileSync(
      config,
      'apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n  path: pod-security.yaml\n',
    );
    await c.start(['--admission-control-config-file', config]);
  });
  after(() => c.box.cleanup());

  /** kubectl in `ns`, whose `default` ServiceAccount is made first (pods wait for it). */
  const inNamespace = async (ns: string, labels: string[] = []) => {
    const created = await c.kubectl(['create', 'namespace', ns]);
    assert.equal(created.code, 0, created.stderr);
    if (labels.length) assert.equal((await c.kubectl(['label', 'namespace', ns, ...labels])).code, 0);
    await until(
      `${ns}/default`,
      async () => (await c.kubectl(['-n', ns, 'get', 'sa', 'default'])).code === 0,
    );
    return (args: string[], input?: string) =>
      c.kubectl(['-n', ns, ...args], input === undefined ? {} : { input });
  };

  test("an unlabelled namespace gets the configured defaults; a label overrides the default's level", async () => {
    const kc = await inNamespace('plain');
    const refused = await kc(['apply', '-f', '-'], privileged('root'));
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /pods "root" is forbidden: violates PodSecurity "baseline:latest": privileged \(container "c" must not set securityContext.privileged=true\)/,
    );
    const plain = await kc(['apply', '-f', '-'], podYaml('plain', '{name: c, image: x}'));
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(
      plain.stderr,
      /Warning: would violate PodSecurity "restricted:v1.30": allowPrivilegeEscalation != false/,
    );
    const open = await inNamespace('open', ['pod-security.kubernetes.io/enforce=privileged']);
    const allowed = await open(['apply', '-f', '-'], privileged('root'));
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stderr, /Warning: would violate PodSecurity "restricted:v1.30": privileged/);
  });

  test('exempt namespaces, users and runtime classes are not judged', async () => {
    const infra = await inNamespace('infra');
    const inInfra = await infra(['apply', '-f', '-'], privileged('root'));
    assert.equal(inInfra.code, 0, inInfra.stderr);
    assert.doesNotMatch(inInfra.stderr, /PodSecurity/);
    const kc = await inNamespace('tenants');
    const byOps = await kc(
      ['--as', 'ops', '--as-group', 'system:masters', 'apply', '-f', '-'],
      privileged('by-ops'),
    );
    assert.equal(byOps.code, 0, byOps.stderr);
    const byOther = await kc(
      ['--as', 'dev', '--as-group', 'system:masters', 'apply', '-f', '-'],
      privileged('by-dev'),
    );
    assert.match(byOther.stderr, /pods "by-dev" is forbidden: violates PodSecurity "baseline:latest"/);
    const trusted = await kc(['apply', '-f', '-'], privileged('trusted', 'runtimeClassName: trusted, '));
    assert.equal(trusted.code, 0, trusted.stderr);
  });

  test("a namespace pinned to an older policy version is judged by that version's checks", async () => {
    // Fails restricted today only for seccomp (1.19) and capabilities (1.22).
    const older = podYaml(
      'older',
      '{name: c, image: x, securityContext: {allowPrivilegeEscalation: false, runAsNonRoot: true}}',
    );
    const v118 = await inNamespace('pinned-118', [
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/enforce-version=v1.18',
    ]);
    const ok = await v118(['apply', '-f', '-'], older);
    assert.equal(ok.code, 0, ok.stderr);
    const v122 = await inNamespace('pinned-122', [
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/enforce-version=v1.22',
    ]);
    const refused = await v122(['apply', '-f', '-'], older);
    assert.match(
      refused.stderr,
      /pods "older" is forbidden: violates PodSecurity "restricted:v1.22": unrestricted capabilities \(container "c" must set securityContext.capabilities.drop=\["ALL"\]\), seccompProfile \(pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"\)$/m,
    );
  });

  test('baseline refuses AppArmor, SELinux, /proc mount, sysctl and hostProcess settings with upstream texts', async () => {
    const kc = await inNamespace('hardening');
    const loose = [
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: loose, annotations: {container.apparmor.security.beta.kubernetes.io/c: unconfined}}',
      'spec:',
      '  securityContext: {seLinuxOptions: {type: spc_t}, sysctls: [{name: kernel.msgmax, value: "1"}]}',
      '  containers: [{name: c, image: x, securityContext: {procMount: Unmasked, windowsOptions: {hostProcess: true}}}]',
      '',
    ].join('\n');
    const refused = await kc(['apply', '-f', '-'], loose);
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /pods "loose" is forbidden: violates PodSecurity "baseline:latest": forbidden AppArmor profile \(annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io\/c="unconfined""\), procMount \(container "c" must not set securityContext.procMount to "Unmasked"\), seLinuxOptions \(pod set forbidden securityContext.seLinuxOptions: type "spc_t"\), forbidden sysctls \(kernel.msgmax\), hostProcess \(container "c" must not set securityContext.windowsOptions.hostProcess=true\)$/m,
    );
    // The allowed values pass baseline (restricted, the default warn level, still warns).
    const confined = podYaml(
      'confined',
      '{name: c, image: x, securityContext: {appArmorProfile: {type: Localhost, localhostProfile: p}, seLinuxOptions: {type: container_t}}}',
      'securityContext: {appArmorProfile: {type: RuntimeDefault}}, ',
    );
    const ok = await kc(['apply', '-f', '-'], confined);
    assert.equal(ok.code, 0, ok.stderr);
    assert.doesNotMatch(ok.stderr, /AppArmor|seLinuxOptions/);
    // A workload is warned of its template's field, not refused.
    const deploy = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: unconfined}',
      'spec:',
      '  selector: {matchLabels: {app: u}}',
      '  template:',
      '    metadata: {labels: {app: u}}',
      '    spec: {containers: [{name: c, image: x, securityContext: {appArmorProfile: {type: Unconfined}}}]}',
      '',
    ].join('\n');
    const warned = await kc(['apply', '-f', '-'], deploy);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(
      warned.stderr,
      /Warning: would violate PodSecurity "baseline:latest": forbidden AppArmor profile \(container "c" must not set AppArmor profile type to "Unconfined"\)/,
    );
  });

  test('a bad PodSecurity configuration stops the start naming the field and value', async () => {
    const bad = join(c.box.dir, 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n  configuration:\n    apiVersion: pod-security.admission.config.k8s.io/v1\n    kind: PodSecurityConfiguration\n    defaults: {enforce: strict}\n',
    );
    const r = await run(berthBin, [...c.serverArgs, '--admission-control-config-file', bad], {
      check: false,
      timeoutMs: 30_000,
    });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /Invalid PodSecurity configuration in .*bad.yaml: defaults.enforce: Invalid value: "strict": must be one of privileged, baseline, restricted/,
    );
  });
});
