import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyDefaults } from './defaults.js';
import { ResourceRegistry } from './resources.js';
import { validate } from './validate.js';

const reg = new ResourceRegistry();
const netpol = reg.get('networking.k8s.io', 'v1', 'networkpolicies');

const causesOf = (spec: Record<string, unknown>) => {
  assert.ok(netpol);
  return validate(netpol, { metadata: { name: 'p', namespace: 'default' }, spec }).map(
    (c) => `${c.field}: ${c.message}`,
  );
};

test('a valid NetworkPolicy has no causes', () => {
  assert.deepEqual(
    causesOf({
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [
        {
          from: [
            { podSelector: {}, namespaceSelector: { matchLabels: { team: 'a' } } },
            { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
          ],
          ports: [{ port: 'http' }, { protocol: 'UDP', port: 53 }, { port: 9000, endPort: 9010 }],
        },
      ],
      egress: [{ to: [{ ipBlock: { cidr: 'fd00::/8' } }] }],
      policyTypes: ['Ingress', 'Egress'],
    }),
    [],
  );
});

test('bad CIDRs, excepts outside the block, ports and peers are refused in upstream words', () => {
  assert.deepEqual(
    causesOf({
      podSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] },
      ingress: [
        {
          from: [
            { ipBlock: { cidr: '10.0.0.0/33' } },
            { ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.0.0/8', '192.168.0.0/16', 'x'] } },
            {},
            { ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} },
          ],
          ports: [
            { protocol: 'ICMP', port: 0 },
            { port: 'HTTP_PORT' },
            { port: 'web', endPort: 90 },
            { port: 100, endPort: 90 },
            { endPort: 90 },
          ],
        },
      ],
      policyTypes: ['Ingress', 'Sideways'],
    }),
    [
      "spec.podSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
      'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"',
      'spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive',
      'spec.ingress[0].ports[1].port: Invalid value: "HTTP_PORT": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      'spec.ingress[0].ports[1].port: Invalid value: "HTTP_PORT": must contain at least one letter (a-z)',
      'spec.ingress[0].ports[2].endPort: Invalid value: 90: may not be specified when `port` is non-numeric',
      'spec.ingress[0].ports[3].endPort: Invalid value: 100: must be greater than or equal to `port`',
      'spec.ingress[0].ports[4].endPort: Invalid value: 90: may not be specified when `port` is not specified',
      'spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
      'spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`',
      'spec.ingress[0].from[1].ipBlock.except[1]: Invalid value: "192.168.0.0/16": must be a strict subset of `cidr`',
      'spec.ingress[0].from[1].ipBlock.except[2]: Invalid value: "x": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
      'spec.ingress[0].from[2]: Required value: must specify a peer',
      'spec.ingress[0].from[3]: Forbidden: may not specify both ipBlock and another peer',
      'spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"',
    ],
  );
});

test('selector operators and label keys are checked', () => {
  assert.deepEqual(
    causesOf({
      podSelector: {
        matchExpressions: [
          { key: 'a', operator: 'Exists', values: ['x'] },
          { key: 'b', operator: 'Equals', values: ['x'] },
          { key: '-bad', operator: 'DoesNotExist' },
        ],
      },
    }),
    [
      "spec.podSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
      'spec.podSelector.matchExpressions[1].operator: Invalid value: "Equals": not a valid selector operator',
      `spec.podSelector.matchExpressions[2].key: Invalid value: "-bad": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    ],
  );
});

test('defaults: policyTypes from the rules, TCP for ports', () => {
  assert.ok(netpol);
  const withEgress: Record<string, unknown> = {
    metadata: { name: 'p' },
    spec: { egress: [{ ports: [{ port: 80 }] }] },
  };
  applyDefaults(netpol, withEgress);
  assert.deepEqual(withEgress.spec, {
    podSelector: {},
    egress: [{ ports: [{ port: 80, protocol: 'TCP' }] }],
    policyTypes: ['Ingress', 'Egress'],
  });
  const ingressOnly: Record<string, unknown> = { metadata: { name: 'p' }, spec: { podSelector: {} } };
  applyDefaults(netpol, ingressOnly);
  assert.deepEqual((ingressOnly.spec as { policyTypes: string[] }).policyTypes, ['Ingress']);
});
