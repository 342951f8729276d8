import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isolated } from './isolation.js';

const complete = [
  '-P FORWARD ACCEPT',
  '-N BERTH-ISOLATION-1',
  '-N BERTH-ISOLATION-2',
  '-A FORWARD -j BERTH-ISOLATION-1',
  '-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD',
  '-A BERTH-ISOLATION-1 -m conntrack --ctstate DNAT -j RETURN',
  '-A BERTH-ISOLATION-1 -i br-a ! -o br-a -j BERTH-ISOLATION-2',
  '-A BERTH-ISOLATION-1 -i br-b ! -o br-b -j BERTH-ISOLATION-2',
  '-A BERTH-ISOLATION-2 -o br-a -j DROP',
  '-A BERTH-ISOLATION-2 -o br-b -j DROP',
];

describe('isolated', () => {
  it('is true only when the jump leads FORWARD and every bridge has both rules', () => {
    assert.equal(isolated(complete.join('\n'), ['br-a', 'br-b']), true);
    assert.equal(isolated(complete.join('\n'), ['br-a', 'br-c']), false);
    const cniFirst = [...complete];
    [cniFirst[3], cniFirst[4]] = [cniFirst[4]!, cniFirst[3]!];
    assert.equal(isolated(cniFirst.join('\n'), ['br-a']), false, 'CNI-FORWARD would accept first');
    const noDrop = complete.filter((l) => l !== '-A BERTH-ISOLATION-2 -o br-b -j DROP');
    assert.equal(isolated(noDrop.join('\n'), ['br-b']), false);
    assert.equal(isolated('-P FORWARD ACCEPT', ['br-a']), false);
  });
});
