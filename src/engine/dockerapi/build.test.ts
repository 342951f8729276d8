import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildQuery } from './build.js';

const query = (q: string) => buildQuery({ query: new URLSearchParams(q) });

describe('buildQuery', () => {
  it("reads the classic builder's parameters", () => {
    const q = query(
      't=a:1&t=b:2&dockerfile=sub/Df&buildargs={"X":"1","Y":null}&labels={"l":"v"}&target=base&nocache=1&q=1&networkmode=none',
    );
    assert.deepEqual(q.tags, ['a:1', 'b:2']);
    assert.equal(q.dockerfile, 'sub/Df');
    assert.deepEqual([...q.buildArgs], [['X', '1']]);
    assert.deepEqual(q.labels, { l: 'v' });
    assert.equal(q.target, 'base');
    assert.equal(q.noCache, true);
    assert.equal(q.quiet, true);
    assert.equal(q.network, 'none');
    assert.equal(query('networkmode=default').network, undefined);
    assert.equal(query('').dockerfile, 'Dockerfile');
  });

  it('refuses remote contexts, BuildKit and malformed JSON, naming them', () => {
    assert.throws(() => query('remote=https://x/repo.git'), /remote context \("https:\/\/x\/repo.git"\)/);
    assert.throws(() => query('version=2'), /BuildKit/);
    assert.throws(() => query('buildargs={bad'), /Invalid buildargs "\{bad"/);
    assert.throws(() => query('labels=["a"]'), /Invalid labels .*expected a JSON object/);
  });
});
