import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { healthEnabled, healthSuffix, mergeHealth } from './health.js';

describe('health check config', () => {
  it("merges the flags over the image's HEALTHCHECK field by field, as Docker's daemon does", () => {
    const image = { Test: ['CMD', 'probe'], Interval: 5e9, Retries: 5 };
    assert.deepEqual(mergeHealth(image, { Test: [], Interval: 1e9 }), {
      Test: ['CMD', 'probe'],
      Interval: 1e9,
      Retries: 5,
      Timeout: undefined,
      StartPeriod: undefined,
    });
    assert.deepEqual(mergeHealth(image, { Test: ['CMD-SHELL', 'true'] })?.Test, ['CMD-SHELL', 'true']);
    assert.equal(mergeHealth(undefined, undefined), undefined);
  });

  it('--no-healthcheck (Test NONE) disables the image check', () => {
    const h = mergeHealth({ Test: ['CMD', 'probe'] }, { Test: ['NONE'] });
    assert.equal(healthEnabled(h), false);
  });

  it("ps's suffixes are Docker's", () => {
    assert.equal(healthSuffix({ Status: 'starting', FailingStreak: 0, Log: [] }), ' (health: starting)');
    assert.equal(healthSuffix({ Status: 'unhealthy', FailingStreak: 3, Log: [] }), ' (unhealthy)');
    assert.equal(healthSuffix(undefined), '');
  });
});
