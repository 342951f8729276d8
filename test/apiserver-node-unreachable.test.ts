// kubectl logs, exec and port-forward on a pod whose node cannot be reached name the node,
// instead of an error that reads as if the pod were missing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCluster, type TestCluster } from './helpers/cluster.js';

describe('streams of a pod whose node is out of reach', () => {
  let c: TestCluster;
  const ok = (args: string[], input?: string) => c.ok(args, input);
  before(async () => {
    c = await startCluster(undefined, { controllers: 'namespace,serviceaccount' });
  });
  after(() => c?.box.cleanup());

  test('a node without an agent endpoint, then a node that is gone', async () => {
    await ok(['apply', '-f', '-'], 'apiVersion: v1\nkind: Node\nmetadata: {name: far-away}\n');
    await ok(
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: Pod\nmetadata: {name: stranded}\nspec: {nodeName: far-away, containers: [{name: c, image: busybox:1.36}]}\n',
    );
    const silent = await c.kubectl(['logs', 'stranded']);
    assert.notEqual(silent.code, 0);
    assert.match(
      silent.stderr,
      /node "far-away" of pod stranded cannot be reached: it reports no agent endpoint/,
    );
    await ok(['delete', 'node', 'far-away']);
    // port-forward asks only for pods that report Running.
    await ok([
      'patch',
      'pod',
      'stranded',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"phase":"Running"}}',
    ]);
    for (const args of [
      ['logs', 'stranded'],
      ['exec', 'stranded', '--', 'true'],
      ['port-forward', 'pod/stranded', '8080:80'],
    ]) {
      const r = await c.kubectl(args);
      assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} succeeded`);
      assert.match(
        r.stderr,
        /node "far-away" of pod stranded cannot be reached: the node no longer exists/,
        `kubectl ${args.join(' ')}`,
      );
    }
  });
});
