import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AllowListBuilder, type Box, disjointBoxes } from './allow-list.js';
import type { Protocol } from './policy.js';

const box = (a: [number, number], ports: [number, number], protocol: Protocol = 'tcp'): Box => ({
  addresses: a,
  protocol,
  ports,
});

const covers = (boxes: readonly Box[], addr: number, protocol: Protocol, port: number) =>
  boxes.filter(
    (b) =>
      b.protocol === protocol &&
      b.addresses[0] <= addr &&
      addr <= b.addresses[1] &&
      b.ports[0] <= port &&
      port <= b.ports[1],
  ).length;

describe('allow-list boxes', () => {
  test('overlapping boxes are cut where they overlap, and pieces with the same peers join', () => {
    assert.deepEqual(disjointBoxes([box([0, 9], [80, 90]), box([5, 20], [85, 100]), box([0, 9], [91, 95])]), [
      box([0, 9], [80, 84]),
      box([0, 20], [85, 95]),
      box([5, 20], [96, 100]),
    ]);
  });

  test('protocols stay apart, TCP first; a repeated box counts once', () => {
    assert.deepEqual(
      disjointBoxes([box([1, 1], [53, 53], 'udp'), box([1, 1], [53, 53]), box([1, 1], [53, 53])]),
      [box([1, 1], [53, 53]), box([1, 1], [53, 53], 'udp')],
    );
  });

  test('the result covers exactly what the input does, each point once (every small case)', () => {
    // A deterministic generator, so a failure can be replayed.
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const range = (n: number): [number, number] => {
      const a = next(n);
      return [a, a + next(n - a)];
    };
    for (let round = 0; round < 200; round++) {
      const input = Array.from({ length: 1 + next(6) }, () =>
        box(range(12), range(12), next(2) ? 'tcp' : 'udp'),
      );
      const out = disjointBoxes(input);
      for (const protocol of ['tcp', 'udp'] as const)
        for (let addr = 0; addr < 12; addr++)
          for (let port = 0; port < 12; port++) {
            const want = covers(input, addr, protocol, port) > 0 ? 1 : 0;
            assert.equal(
              covers(out, addr, protocol, port),
              want,
              JSON.stringify({ input, addr, port, protocol }),
            );
          }
    }
  });

  test('the builder merges peers allowed on every port and makes the boxes disjoint', () => {
    const b = new AllowListBuilder();
    b.addAnyPort([[5, 6]]);
    b.addAnyPort([[7, 9]]);
    b.add(
      [
        [1, 2],
        [4, 4],
      ],
      'tcp',
      [80, 80],
    );
    b.add([[3, 3]], 'tcp', [80, 80]);
    assert.deepEqual(b.build(), { anyPort: [[5, 9]], boxes: [box([1, 4], [80, 80])] });
  });
});
