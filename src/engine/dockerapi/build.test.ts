import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { buildQuery, completeTar } from './build.js';

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

describe('completeTar', () => {
  const through = (input: Buffer) => buffer(Readable.from([input]).pipe(completeTar()));

  it('pads a tar cut off after its last data and adds the end blocks', async () => {
    const out = await through(Buffer.alloc(512 + 35, 1));
    assert.equal(out.length, 1024 + 1024);
    assert.ok(out.subarray(547).every((b) => b === 0));
  });

  it('leaves a compressed context as it is', async () => {
    const gz = Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]);
    assert.deepEqual(await through(gz), gz);
  });
});
