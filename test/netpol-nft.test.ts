// The NetworkPolicy tables against the real nft and kernel, in a network namespace of the
// test's own: this kernel's answer to the probe for concatenated interval sets leaves nothing
// behind, and both set shapes (with the bridge table too) load, for policies whose rules
// overlap across policies, punch holes with excepts, use ranges, named ports and protocols
// alone; a second apply replaces the first.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  allowWeb,
  clientEgress,
  denyAll,
  portRangePolicy,
  tablesFor,
} from '../src/cluster/netpol/fixtures.js';
import { NetpolBackend } from '../src/cluster/netpol/nft-backend.js';
import { isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

const policies = [
  denyAll,
  allowWeb,
  clientEgress,
  portRangePolicy('wide', '10.0.0.0/8', 80, 90),
  portRangePolicy('narrow', '10.1.0.0/16', 85, 100),
];

describe('NetworkPolicy tables in nft', { skip: !isRoot }, () => {
  let box: Sandbox;
  before(async () => {
    box = await sandbox(undefined, { netns: true });
  });
  after(() => box.cleanup());
  const nft = async (...args: string[]) => (await box.exec('nft', args, { check: false })).stdout;

  test('the probe leaves no table behind', async () => {
    const shape = await new NetpolBackend(box.exec).setShape();
    assert.ok(['concatenated', 'per-port'].includes(shape));
    assert.equal(await nft('list', 'tables'), '');
  });

  for (const shape of ['concatenated', 'per-port'] as const)
    test(`${shape} sets load and replace the last tables`, async (t) => {
      const backend = new NetpolBackend(box.exec);
      if (shape === 'concatenated' && (await backend.setShape()) !== shape)
        return t.skip('nft or the kernel lack concatenated interval sets');
      assert.equal(await backend.apply(tablesFor(policies.slice(0, 3), { bridge: true, shape })), true);
      assert.equal(await backend.apply(tablesFor(policies, { bridge: true, shape })), true);
      const inet = await nft('list', 'table', 'inet', 'berth-netpol');
      // The web pod's TCP 91-100 from 10.1.0.0/16 less 10.1.2.0/24, as nft lists it.
      assert.match(
        inet,
        shape === 'concatenated'
          ? /10\.1\.0\.0\/23 \. tcp \. 91-100/
          : /@ingress-default\/web-1\/1 tcp dport 91-100 return/,
      );
      assert.match(await nft('list', 'table', 'bridge', 'berth-netpol'), /chain bridged-to-default\/web-1/);
      await backend.cleanup();
      assert.equal(await nft('list', 'tables'), '');
    });
});
