import assert from 'node:assert/strict';
import { test } from 'node:test';
import { humanDuration } from './inspect.js';

test('durations read as the docker CLI words them in STATUS and CREATED', () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  const cases: [number, string][] = [
    [-5 * s, 'Less than a second'],
    [400, 'Less than a second'],
    [1 * s, '1 second'],
    [59 * s, '59 seconds'],
    [60 * s, 'About a minute'],
    [119 * s, 'About a minute'],
    [2 * m, '2 minutes'],
    [59 * m, '59 minutes'],
    [60 * m, 'About an hour'],
    [89 * m, 'About an hour'],
    [90 * m, '2 hours'],
    [47 * h, '47 hours'],
    [48 * h, '2 days'],
    [13 * d, '13 days'],
    [14 * d, '2 weeks'],
    [59 * d, '8 weeks'],
    [60 * d, '2 months'],
    [729 * d, '24 months'],
    [730 * d, '2 years'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
});
