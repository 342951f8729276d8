import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../client/kube-client.js';
import { type PodUsage, rankForEviction } from './rank.js';

const pod = (name: string, requests: Record<string, string> = {}, priority = 0): KubeObject => ({
  metadata: { name, uid: name },
  spec: { priority, containers: [{ name: 'c', resources: { requests } }] },
});
const usage = (memory: number, disk = 0): PodUsage => ({ containers: [{ name: 'c', memory, disk }] });
const Mi = 1024 * 1024;

test('memory: pods beyond their requests first, then lower priority, then the larger excess', () => {
  const guaranteed = pod('guaranteed', { memory: '100Mi' });
  const bestEffort = pod('besteffort');
  const important = pod('important', {}, 1000);
  const hog = pod('hog', { memory: '10Mi' });
  const u = new Map([
    ['guaranteed', usage(50 * Mi)],
    ['besteffort', usage(5 * Mi)],
    ['important', usage(500 * Mi)],
    ['hog', usage(60 * Mi)],
  ]);
  assert.deepEqual(
    rankForEviction([guaranteed, important, bestEffort, hog], u, 'memory').map((p) => p.metadata.name),
    ['hog', 'besteffort', 'important', 'guaranteed'],
  );
});

test('disk: ephemeral-storage requests and usage, and a pod without figures goes first', () => {
  const a = pod('a', { 'ephemeral-storage': '1Gi' });
  const b = pod('b');
  const unknown = pod('unknown', { 'ephemeral-storage': '1Gi' });
  const u = new Map<string, PodUsage | undefined>([
    ['a', usage(0, 500 * Mi)],
    ['b', { containers: [{ name: 'c', disk: 4096 }], volumesDisk: 4096 }],
    ['unknown', undefined],
  ]);
  assert.deepEqual(
    rankForEviction([a, b, unknown], u, 'ephemeral-storage').map((p) => p.metadata.name),
    ['unknown', 'b', 'a'],
  );
});
