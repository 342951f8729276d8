import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toV2Schema } from './openapi-v2.js';

test('a v3 schema as v2 writes it: refs under definitions, a described ref without allOf', () => {
  assert.deepEqual(
    toV2Schema({
      type: 'object',
      properties: {
        spec: {
          description: 'The spec.',
          allOf: [{ $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec' }],
        },
        ports: {
          type: 'array',
          items: { allOf: [{ $ref: '#/components/schemas/io.k8s.api.core.v1.ContainerPort' }] },
          'x-kubernetes-list-map-keys': ['containerPort', 'protocol'],
        },
        name: { type: 'string', nullable: true },
      },
    }),
    {
      type: 'object',
      properties: {
        spec: { description: 'The spec.', $ref: '#/definitions/io.k8s.api.apps.v1.DeploymentSpec' },
        ports: {
          type: 'array',
          items: { $ref: '#/definitions/io.k8s.api.core.v1.ContainerPort' },
          'x-kubernetes-list-map-keys': ['containerPort', 'protocol'],
        },
        name: { type: 'string' },
      },
    },
  );
});
