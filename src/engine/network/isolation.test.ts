import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IsolationCheck, isolated } from './isolation.js';

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

  it('with subnets, also asks for the jump to BERTH-FORWARD and both accept rules of each', () => {
    const accepting = [
      ...complete.slice(0, 4),
      '-A FORWARD -j BERTH-FORWARD',
      ...complete.slice(4),
      '-A BERTH-FORWARD -s 10.42.0.0/24 -j ACCEPT',
      '-A BERTH-FORWARD -d 10.42.0.0/24 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ];
    assert.equal(isolated(accepting.join('\n'), ['br-a'], ['10.42.0.0/24']), true);
    assert.equal(isolated(complete.join('\n'), ['br-a'], ['10.42.0.0/24']), false, 'no accept rules');
    assert.equal(isolated(accepting.join('\n'), ['br-a'], ['10.42.1.0/24']), false, 'another subnet');
    const noJump = accepting.filter((l) => l !== '-A FORWARD -j BERTH-FORWARD');
    assert.equal(isolated(noJump.join('\n'), ['br-a'], ['10.42.0.0/24']), false, 'nothing jumps to them');
    const acceptFirst = [...accepting];
    [acceptFirst[3], acceptFirst[4]] = [acceptFirst[4]!, acceptFirst[3]!];
    assert.equal(
      isolated(acceptFirst.join('\n'), ['br-a'], ['10.42.0.0/24']),
      false,
      'isolation comes first',
    );
  });
});

describe('IsolationCheck', () => {
  /** A check that records its calls, on a clock the test moves. */
  function recorded() {
    const calls: string[][] = [];
    const clock = { t: 0 };
    let fail = false;
    const check = new IsolationCheck({
      maxAgeMs: 1000,
      now: () => clock.t,
      check: async (_root, bridges) => {
        calls.push([...bridges]);
        if (fail) throw new Error('iptables failed');
      },
    });
    return { check, calls, clock, failNext: (f: boolean) => (fail = f) };
  }

  it('checks a set once while it holds, again for another set, after maxAgeMs, or when the firewall plugin ran', async () => {
    const { check, calls, clock } = recorded();
    await check.ensure('/r', ['br-a'], ['10.42.0.0/24'], false);
    await check.ensure('/r', ['br-a'], ['10.42.0.0/24'], false);
    assert.equal(calls.length, 1);
    await check.ensure('/r', ['br-a'], ['10.42.0.0/24'], true);
    assert.equal(calls.length, 2, 'the firewall plugin may have put its chain first');
    await check.ensure('/r', ['br-a', 'br-b'], ['10.42.0.0/24'], false);
    assert.equal(calls.length, 3, 'a new bridge');
    clock.t = 999;
    await check.ensure('/r', ['br-a', 'br-b'], ['10.42.0.0/24'], false);
    assert.equal(calls.length, 3);
    clock.t = 1000;
    await check.ensure('/r', ['br-a', 'br-b'], ['10.42.0.0/24'], false);
    assert.equal(calls.length, 4, 'rules removed by hand come back');
  });

  it('lets attaches of the same set share one running check, and checks again after a failure', async () => {
    const { check, calls, failNext } = recorded();
    failNext(true);
    const all = await Promise.allSettled(
      Array.from({ length: 8 }, () => check.ensure('/r', ['br-a'], [], false)),
    );
    assert.equal(calls.length, 1);
    assert.ok(all.every((r) => r.status === 'rejected'));
    failNext(false);
    await check.ensure('/r', ['br-a'], [], false);
    assert.equal(calls.length, 2);
  });
});
