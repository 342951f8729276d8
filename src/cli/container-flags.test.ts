import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createOptionsFromFlags,
  parseCpus,
  parseEnv,
  parseMemory,
  parseRestart,
  parseTmpfs,
  parseVolume,
} from './container-flags.js';

describe('container flags', () => {
  it('parses memory and cpus, refusing bad values', () => {
    assert.equal(parseMemory('64m'), 64 * 1024 * 1024);
    assert.equal(parseMemory('1g'), 1024 ** 3);
    assert.throws(() => parseMemory('lots'), /Invalid value "lots" for --memory/);
    assert.throws(() => parseMemory('1k'), /minimum allowed is 6MB/);
    assert.equal(parseCpus('1.5'), 1.5e9);
    assert.throws(() => parseCpus('fast'), /Invalid value "fast" for --cpus/);
  });

  it('parses volumes: binds, named and anonymous', () => {
    assert.deepEqual(parseVolume('/h:/c:ro'), {
      type: 'bind',
      source: '/h',
      destination: '/c',
      readOnly: true,
    });
    assert.deepEqual(parseVolume('data:/c'), {
      type: 'volume',
      source: 'data',
      destination: '/c',
      readOnly: false,
    });
    assert.equal(parseVolume('/c').anonymous, true);
    assert.throws(() => parseVolume('a:b'), /Invalid volume specification/);
  });

  it('parses tmpfs, restart and env', () => {
    assert.deepEqual(parseTmpfs('/t:size=1m,mode=1777'), {
      destination: '/t',
      options: ['size=1m', 'mode=1777'],
    });
    assert.deepEqual(parseRestart('on-failure:3'), { name: 'on-failure', maximumRetryCount: 3 });
    assert.throws(() => parseRestart('sometimes'), /Invalid restart policy "sometimes"/);
    assert.deepEqual(parseEnv(['A=1', 'B', 'C'], { B: '2' }), ['A=1', 'B=2']);
  });

  it('maps flags to create options', () => {
    const o = createOptionsFromFlags(
      { name: 'n', network: 'host', securityOpt: ['no-new-privileges'], rm: true, pidsLimit: '10' },
      ['echo', 'hi'],
    );
    assert.equal(o.network, 'host');
    assert.equal(o.noNewPrivileges, true);
    assert.equal(o.autoRemove, true);
    assert.equal(o.pidsLimit, 10);
    assert.deepEqual(o.command, ['echo', 'hi']);
    assert.throws(() => createOptionsFromFlags({ network: 'bridge' }, []), /Unsupported --network "bridge"/);
  });
});
