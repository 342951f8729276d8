import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ResourceInfo } from './resources.js';
import type { KubeObject } from './selectors.js';
import { toTable } from './table.js';
import { humanDuration, selectorText } from './table-cells.js';
import { endpointsText, jobCompletions, nodeStatus, serviceExternalIP } from './table-kinds.js';
import { podCells, readinessGates } from './table-pod.js';

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

test('ages read as upstream HumanDuration', () => {
  const cases: [number, string][] = [
    [-5 * s, '<invalid>'],
    [45 * s, '45s'],
    [119 * s, '119s'],
    [5 * m + 3 * s, '5m3s'],
    [5 * m, '5m'],
    [15 * m, '15m'],
    [3 * h + 20 * m, '3h20m'],
    [7 * h, '7h'],
    [10 * h + 5 * m, '10h'],
    [3 * d + 4 * h, '3d4h'],
    [20 * d, '20d'],
    [800 * d, '2y70d'],
    [9 * 365 * d, '9y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
});

test('label selectors print sorted, with set-based requirements', () => {
  assert.equal(selectorText({}), '<none>');
  assert.equal(
    selectorText({
      matchLabels: { tier: 'fe', app: 'web' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'dev'] },
        { key: 'gone', operator: 'DoesNotExist' },
      ],
    }),
    'app=web,env in (dev,prod),!gone,tier=fe',
  );
});

const now = Date.parse('2026-01-01T00:10:00Z');
const pod = (status: object, spec: object = {}) => ({
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'a' }], ...spec },
  status,
});

test('pod STATUS, READY and RESTARTS as upstream printPod', () => {
  const running = { running: { startedAt: '2026-01-01T00:00:00Z' } };
  // Init containers: the one under way, or its failure.
  const init = { initContainers: [{ name: 'i1' }, { name: 'i2' }] };
  assert.deepEqual(
    podCells(
      pod(
        {
          phase: 'Pending',
          initContainerStatuses: [
            { name: 'i1', state: { terminated: { exitCode: 0 } } },
            { name: 'i2', state: { running: {} } },
          ],
          containerStatuses: [{ name: 'a', state: { waiting: { reason: 'PodInitializing' } } }],
        },
        init,
      ),
      now,
    ),
    { ready: '0/1', status: 'Init:1/2', restarts: '0' },
  );
  const crashing = podCells(
    pod(
      {
        phase: 'Pending',
        initContainerStatuses: [
          {
            name: 'i1',
            restartCount: 3,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, finishedAt: '2026-01-01T00:09:18Z' } },
          },
        ],
      },
      init,
    ),
    now,
  );
  assert.deepEqual(crashing, { ready: '0/1', status: 'Init:CrashLoopBackOff', restarts: '3 (42s ago)' });
  // A container that ended without a reason; one restarted a while ago.
  assert.equal(
    podCells(
      pod({ phase: 'Failed', containerStatuses: [{ name: 'a', state: { terminated: { exitCode: 2 } } }] }),
    ).status,
    'ExitCode:2',
  );
  assert.deepEqual(
    podCells(
      pod({
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [
          {
            name: 'a',
            ready: true,
            restartCount: 1,
            state: running,
            lastState: { terminated: { exitCode: 137, finishedAt: '2026-01-01T00:05:00Z' } },
          },
        ],
      }),
      now,
    ),
    { ready: '1/1', status: 'Running', restarts: '1 (5m ago)' },
  );
  // One container done while another runs: Running, or NotReady without the Ready condition.
  const twoContainers = {
    phase: 'Running',
    containerStatuses: [
      { name: 'a', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
      { name: 'b', ready: true, state: running },
    ],
  };
  const two = { containers: [{ name: 'a' }, { name: 'b' }] };
  assert.deepEqual(podCells(pod(twoContainers, two), now), {
    ready: '1/2',
    status: 'NotReady',
    restarts: '0',
  });
  // A sidecar (restartable init container) counts among the containers once started.
  const sidecar = podCells(
    pod(
      {
        phase: 'Running',
        conditions: [
          { type: 'Initialized', status: 'True' },
          { type: 'Ready', status: 'True' },
        ],
        initContainerStatuses: [{ name: 'side', started: true, ready: true, state: running }],
        containerStatuses: [{ name: 'a', ready: true, state: running }],
      },
      { initContainers: [{ name: 'side', restartPolicy: 'Always' }] },
    ),
    now,
  );
  assert.deepEqual(sidecar, { ready: '2/2', status: 'Running', restarts: '0' });
  // Deleted: Terminating, unless it already ended.
  const deleted = { ...pod({ phase: 'Running' }), metadata: { name: 'p', deletionTimestamp: 'x' } };
  assert.equal(podCells(deleted).status, 'Terminating');
  assert.equal(readinessGates(pod({ phase: 'Running' })), '<none>');
  assert.equal(
    readinessGates(
      pod(
        { conditions: [{ type: 'x/one', status: 'True' }] },
        { readinessGates: [{ conditionType: 'x/one' }, { conditionType: 'x/two' }] },
      ),
    ),
    '1/2',
  );
});

test('node STATUS shows a cordon; Job COMPLETIONS; Service EXTERNAL-IP; Endpoints cut at three', () => {
  const ready = { status: { conditions: [{ type: 'Ready', status: 'True' }] } };
  assert.equal(nodeStatus({ ...ready, spec: { unschedulable: true } }), 'Ready,SchedulingDisabled');
  assert.equal(nodeStatus({ status: {} }), 'Unknown');
  assert.equal(jobCompletions({ spec: { completions: 3 }, status: { succeeded: 1 } }), '1/3');
  assert.equal(jobCompletions({ spec: { parallelism: 4 }, status: {} }), '0/1 of 4');
  assert.equal(serviceExternalIP({ spec: { type: 'LoadBalancer' } }), '<pending>');
  assert.equal(serviceExternalIP({ spec: { type: 'ClusterIP' } }), '<none>');
  assert.equal(serviceExternalIP({ spec: { type: 'ExternalName', externalName: 'a.example' } }), 'a.example');
  const addresses = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map((ip) => ({ ip }));
  assert.equal(
    endpointsText({ subsets: [{ addresses, ports: [{ port: 80 }] }] }),
    '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...',
  );
  assert.equal(endpointsText({}), '<none>');
});

const nodes: ResourceInfo = {
  group: '',
  version: 'v1',
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  namespaced: false,
};

test('wide columns come last in the Table, as kubectl hides them by priority', () => {
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1', creationTimestamp: new Date().toISOString() },
    status: { nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Debian' } },
  } as KubeObject;
  const t = toTable(nodes, [node], '1') as {
    columnDefinitions: { name: string; priority: number }[];
    rows: { cells: unknown[] }[];
  };
  assert.deepEqual(
    t.columnDefinitions.map((c) => `${c.name}${c.priority ? '*' : ''}`),
    [
      'Name',
      'Status',
      'Roles',
      'Age',
      'Version',
      'Internal-IP*',
      'External-IP*',
      'OS-Image*',
      'Kernel-Version*',
      'Container-Runtime*',
    ],
  );
  assert.deepEqual(t.rows[0]?.cells.slice(5), ['<none>', '<none>', 'Debian', '<unknown>', '<unknown>']);
});

test('a workload SELECTOR column prints its LabelSelector, expressions too', () => {
  const deployments: ResourceInfo = {
    ...nodes,
    group: 'apps',
    kind: 'Deployment',
    plural: 'deployments',
    namespaced: true,
  };
  const d = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
      template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    },
  } as KubeObject;
  const t = toTable(deployments, [d], '1') as {
    columnDefinitions: { name: string }[];
    rows: { cells: unknown[] }[];
  };
  const at = t.columnDefinitions.findIndex((c) => c.name === 'Selector');
  assert.equal(t.rows[0]?.cells[at], 'app=web,tier');
});
