// The Service proxy's nftables backend against the real nft, in a network namespace of the
// test's own: applies replace the table's content in one go, drop what is no longer named,
// keep the clients the affinity sets remember, and cleanup removes the table.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { service, slice } from '../src/cluster/proxy/fixtures.js';
import { NftBackend } from '../src/cluster/proxy/nft-backend.js';
import { proxyRules } from '../src/cluster/proxy/nft-rules.js';
import { servicePorts } from '../src/cluster/proxy/service-ports.js';
import { isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

const rules = (withOther: boolean) =>
  proxyRules(
    servicePorts(
      [
        service('sticky', { clusterIP: '10.43.0.60', sessionAffinity: 'ClientIP', ports: [{ port: 80 }] }),
        ...(withOther
          ? [
              service('other', {
                type: 'NodePort',
                clusterIP: '10.43.0.61',
                ports: [{ port: 81, nodePort: 30081 }],
              }),
            ]
          : []),
      ],
      [
        slice('sticky', [{ port: 80 }], [{ ip: '10.42.0.2', node: 'n1' }]),
        slice('other', [{ port: 81 }], [{ ip: '10.42.0.3', node: 'n1' }]),
      ],
      'n1',
    ),
    { clusterCidr: '10.42.0.0/16' },
  );

describe('nftables backend', { skip: !isRoot }, () => {
  let box: Sandbox;
  before(async () => {
    box = await sandbox(undefined, { netns: true });
  });
  after(() => box.cleanup());
  // Without the countdown of set elements' expiry, which differs from one listing to the next.
  const nft = async (...args: string[]) =>
    (await box.exec('nft', args, { check: false })).stdout.replace(/ expires \S+/g, '');

  test('applies, replaces, keeps affinity and cleans up', async () => {
    const backend = new NftBackend(box.exec);
    await backend.apply(rules(true));
    assert.match(await nft('list', 'map', 'ip', 'berth-proxy', 'service-nodeports'), /tcp \. 30081/);
    const aff = 'aff-default/sticky/80/10.42.0.2/80/10800';
    await box.exec('nft', ['add', 'element', 'ip', 'berth-proxy', aff, '{ 10.42.0.9 }']);

    // A second backend, as after an agent restart: it learns what the first one made.
    const restarted = new NftBackend(box.exec);
    await restarted.apply(rules(false));
    const table = await nft('list', 'table', 'ip', 'berth-proxy');
    assert.doesNotMatch(table, /default\/other/);
    assert.doesNotMatch(table, /30081/);
    assert.match(await nft('list', 'set', 'ip', 'berth-proxy', aff), /10\.42\.0\.9/);
    // Later applies change only what differs: adding the Service back and removing it again
    // ends where the whole write did; the same rules again change nothing.
    await restarted.apply(rules(true));
    assert.match(await nft('list', 'map', 'ip', 'berth-proxy', 'service-nodeports'), /tcp \. 30081/);
    assert.match(
      await nft('list', 'chain', 'ip', 'berth-proxy', 'ext-default/other/81'),
      /goto svc-default\/other\/81/,
    );
    await restarted.apply(rules(false));
    assert.equal(await nft('list', 'table', 'ip', 'berth-proxy'), table);
    await restarted.apply(rules(false));
    assert.equal(await nft('list', 'table', 'ip', 'berth-proxy'), table);

    await restarted.cleanup();
    const gone = await box.exec('nft', ['list', 'table', 'ip', 'berth-proxy'], { check: false });
    assert.notEqual(gone.code, 0);
    // Nothing there: cleanup again is a no-op.
    await restarted.cleanup();
  });
});
