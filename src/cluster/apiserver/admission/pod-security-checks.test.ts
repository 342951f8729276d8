import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describe as describeViolations, evaluate, type PodSpec } from './pod-security-checks.js';
import { restrictedContainer } from './test-request.js';

/** `reason (detail), ...` of what `spec` fails, as the refusal and warning texts carry it. */
const at = (level: 'baseline' | 'restricted', spec: PodSpec, version = 'latest', annotations = {}) =>
  describeViolations(evaluate(level, spec, version, { annotations }));

test('AppArmor: the field allows RuntimeDefault and Localhost, the beta annotations runtime/default and localhost/', () => {
  assert.equal(
    at('baseline', {
      securityContext: { appArmorProfile: { type: 'Unconfined' } },
      containers: [{ name: 'a', securityContext: { appArmorProfile: { type: 'Localhost' } } }],
    }),
    'forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")',
  );
  assert.equal(
    at(
      'baseline',
      {
        containers: [
          { name: 'a', securityContext: { appArmorProfile: { type: 'Unconfined' } } },
          { name: 'b' },
        ],
      },
      'latest',
      {
        'container.apparmor.security.beta.kubernetes.io/b': 'unconfined',
        'container.apparmor.security.beta.kubernetes.io/c': 'localhost/mine',
      },
    ),
    'forbidden AppArmor profiles (container "a" and annotation must not set AppArmor profile type to "Unconfined", "container.apparmor.security.beta.kubernetes.io/b="unconfined"")',
  );
  assert.equal(
    at('baseline', { containers: [{ name: 'a' }] }, 'latest', {
      'container.apparmor.security.beta.kubernetes.io/a': 'runtime/default',
    }),
    '',
  );
});

test('SELinux: a type outside the allowed set, a user or a role; container_engine_t from v1.31', () => {
  assert.equal(
    at('baseline', {
      securityContext: { seLinuxOptions: { type: 'spc_t', user: 'root' } },
      containers: [{ name: 'a', securityContext: { seLinuxOptions: { role: 'sysadm_r' } } }],
    }),
    'seLinuxOptions (pod and container "a" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set; role may not be set)',
  );
  // Upstream names the user and role only along with a bad type.
  assert.equal(
    at('baseline', { containers: [{ name: 'a', securityContext: { seLinuxOptions: { user: 'u' } } }] }),
    'seLinuxOptions (container "a" set forbidden securityContext.seLinuxOptions: )',
  );
  const engine: PodSpec = {
    securityContext: { seLinuxOptions: { type: 'container_engine_t' } },
    containers: [{ name: 'a' }],
  };
  assert.equal(at('baseline', engine, 'v1.31'), '');
  assert.match(
    at('baseline', engine, 'v1.30'),
    /^seLinuxOptions \(pod set forbidden .*type "container_engine_t"\)$/,
  );
});

test('Windows hostProcess, /proc mount types and sysctls at baseline', () => {
  assert.equal(
    at('baseline', {
      securityContext: { windowsOptions: { hostProcess: true } },
      containers: [
        { name: 'a', securityContext: { windowsOptions: { hostProcess: true }, procMount: 'Unmasked' } },
        { name: 'b', securityContext: { procMount: 'Default' } },
      ],
    }),
    'procMount (container "a" must not set securityContext.procMount to "Unmasked"), hostProcess (pod and container "a" must not set securityContext.windowsOptions.hostProcess=true)',
  );
  const keepalive: PodSpec = {
    securityContext: { sysctls: [{ name: 'net.ipv4.tcp_keepalive_time' }, { name: 'kernel.msgmax' }] },
    containers: [{ name: 'a' }],
  };
  assert.equal(at('baseline', keepalive), 'forbidden sysctls (kernel.msgmax)');
  assert.equal(
    at('baseline', keepalive, 'v1.28'),
    'forbidden sysctls (net.ipv4.tcp_keepalive_time, kernel.msgmax)',
  );
});

test('seccomp: annotations before v1.19, fields after; restricted wants RuntimeDefault or Localhost', () => {
  const annotated = { 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined' };
  assert.equal(
    at('baseline', { containers: [{ name: 'a' }] }, 'v1.18', annotated),
    'seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")',
  );
  assert.equal(at('baseline', { containers: [{ name: 'a' }] }, 'latest', annotated), '');
  const unconfined: PodSpec = {
    securityContext: { seccompProfile: { type: 'Unconfined' } },
    containers: [
      {
        ...restrictedContainer,
        securityContext: { ...restrictedContainer.securityContext, seccompProfile: { type: 'Unconfined' } },
      },
    ],
  };
  const text =
    'seccompProfile (pod and container "c" must not set securityContext.seccompProfile.type to "Unconfined")';
  assert.equal(at('baseline', unconfined), text);
  // Restricted's check replaces baseline's: one entry, not two.
  assert.equal(at('restricted', unconfined), text);
  assert.equal(
    at('restricted', {
      securityContext: { seccompProfile: { type: 'Localhost' } },
      containers: [
        {
          ...restrictedContainer,
          securityContext: { ...restrictedContainer.securityContext, seccompProfile: undefined },
        },
      ],
    }),
    '',
  );
});

test('restricted spares Windows pods its Linux-only checks from v1.25', () => {
  const windows: PodSpec = {
    os: { name: 'windows' },
    securityContext: { runAsNonRoot: true },
    containers: [{ name: 'w' }],
  };
  assert.equal(at('restricted', windows), '');
  assert.equal(
    at('restricted', windows, 'v1.24'),
    'allowPrivilegeEscalation != false (container "w" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "w" must set securityContext.capabilities.drop=["ALL"]), seccompProfile (pod or container "w" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  );
});

test('texts as upstream words them: plurals, sorted values, hostPath under restricted volume types', () => {
  assert.equal(
    at('baseline', {
      containers: [
        {
          name: 'a',
          ports: [{ hostPort: 8080 }],
          securityContext: { capabilities: { add: ['SYS_TIME', 'NET_ADMIN'] } },
        },
        { name: 'b', ports: [{ hostPort: 443 }] },
      ],
    }),
    'non-default capabilities (container "a" must not include "NET_ADMIN", "SYS_TIME" in securityContext.capabilities.add), hostPort (containers "a", "b" use hostPorts 443, 8080)',
  );
  const volumes = [
    { name: 'h', hostPath: { path: '/' } },
    { name: 'n', nfs: { server: 'x', path: '/' } },
    { name: 'e', emptyDir: {} },
  ];
  assert.equal(at('baseline', { volumes, containers: [{ name: 'c' }] }), 'hostPath volumes (volume "h")');
  assert.equal(
    at('restricted', { volumes, containers: [restrictedContainer] }),
    'restricted volume types (volumes "h", "n" use restricted volume types "hostPath", "nfs")',
  );
  assert.equal(
    at('restricted', {
      securityContext: { runAsNonRoot: false },
      containers: [
        {
          ...restrictedContainer,
          securityContext: { ...restrictedContainer.securityContext, runAsNonRoot: false },
        },
      ],
    }),
    'runAsNonRoot != true (pod and container "c" must not set securityContext.runAsNonRoot=false)',
  );
});
