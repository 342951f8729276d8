import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StatusCause } from './status.js';
import {
  validateEphemeralContainersUpdate,
  validatePodContainers,
  validatePodCreate,
} from './validate-pod-containers.js';

const causesOf = (spec: Record<string, unknown>) => {
  const causes: StatusCause[] = [];
  validatePodContainers(spec, 'spec', causes);
  return causes.map((c) => `${c.field}: ${c.message}`);
};

test('ephemeral containers: unique names, a target among the containers, no ports, probes or resources', () => {
  assert.deepEqual(
    causesOf({
      containers: [{ name: 'app', image: 'x' }],
      ephemeralContainers: [
        { name: 'debugger', image: 'busybox', targetContainerName: 'app', stdin: true, tty: true },
        {
          name: 'app',
          image: 'busybox',
          targetContainerName: 'nope',
          ports: [{ containerPort: 80 }],
          readinessProbe: { exec: { command: ['true'] } },
          resources: { limits: { cpu: '1' } },
          volumeMounts: [{ name: 'v', mountPath: '/v', subPath: 'x' }],
        },
        { name: 'empty-resources', image: 'busybox', resources: {} },
      ],
    }),
    [
      'spec.ephemeralContainers[1].name: Duplicate value: "app"',
      'spec.ephemeralContainers[1].targetContainerName: Not found: "nope"',
      'spec.ephemeralContainers[1].ports: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[1].readinessProbe: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[1].resources: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[1].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container',
    ],
  );
  assert.deepEqual(
    validatePodCreate({ ephemeralContainers: [{ name: 'd' }] }).map((c) => c.message),
    ['Forbidden: cannot be set on create'],
  );
});

test('the ephemeralcontainers subresource may add containers, not change or remove them', () => {
  const d = { name: 'd', image: 'busybox', stdin: true };
  assert.deepEqual(
    validateEphemeralContainersUpdate(
      { ephemeralContainers: [d, { name: 'e' }] },
      { ephemeralContainers: [d] },
    ),
    [],
  );
  assert.deepEqual(
    validateEphemeralContainersUpdate(
      { ephemeralContainers: [{ ...d, image: 'other' }] },
      { ephemeralContainers: [d] },
    ).map((c) => `${c.field}: ${c.message.split('\n')[0]}`),
    ['spec.ephemeralContainers[d]: Forbidden: existing ephemeral containers "d" may not be changed'],
  );
  assert.deepEqual(
    validateEphemeralContainersUpdate({ ephemeralContainers: [] }, { ephemeralContainers: [d] }).map((c) =>
      c.message.trim(),
    ),
    ['Forbidden: existing ephemeral containers "d" may not be removed'],
  );
});

test('mountPropagation: a known mode, and Bidirectional only in a privileged container', () => {
  const mounts = (mode: string) => [{ name: 'v', mountPath: '/v', mountPropagation: mode }];
  assert.deepEqual(
    causesOf({
      containers: [
        { name: 'a', volumeMounts: mounts('HostToContainer') },
        { name: 'b', volumeMounts: mounts('Bidirectional') },
        { name: 'c', volumeMounts: mounts('Bidirectional'), securityContext: { privileged: true } },
        { name: 'd', volumeMounts: mounts('Sideways') },
      ],
    }),
    [
      'spec.containers[1].volumeMounts[0].mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers',
      'spec.containers[3].volumeMounts[0].mountPropagation: Unsupported value: "Sideways": supported values: "Bidirectional", "HostToContainer", "None"',
    ],
  );
});
