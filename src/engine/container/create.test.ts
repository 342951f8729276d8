import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResolvedImage } from '../image/resolved-image.js';
import { checkCpus, checkMounts, mergeConfig } from './create.js';

const image = (config: ResolvedImage['config']): ResolvedImage => ({
  id: 'sha256:abc',
  name: 'docker.io/library/x:latest',
  config,
  lowerDirs: async () => [],
});
const id = 'a'.repeat(64);

describe('mergeConfig (Docker precedence)', () => {
  it('keeps image Entrypoint with a new command, and drops Cmd with a new entrypoint', () => {
    const img = image({ Entrypoint: ['/ep'], Cmd: ['default'], Env: ['A=1'], WorkingDir: '/w', User: 'u' });
    const a = mergeConfig(img, id, { command: ['x'] });
    assert.deepEqual([a.entrypoint, a.cmd], [['/ep'], ['x']]);
    const b = mergeConfig(img, id, { entrypoint: '/other' });
    assert.deepEqual([b.entrypoint, b.cmd], [['/other'], []]);
    const c = mergeConfig(img, id, {});
    assert.deepEqual([c.entrypoint, c.cmd, c.workingDir, c.user], [['/ep'], ['default'], '/w', 'u']);
  });

  it('appends env, merges labels, defaults hostname and stop signal', () => {
    const img = image({ Env: ['A=1'], Labels: { a: '1' }, StopSignal: 'SIGQUIT' });
    const c = mergeConfig(img, id, { env: ['B=2'], labels: { b: '2' } });
    assert.deepEqual(c.env, ['A=1', 'B=2']);
    assert.deepEqual(c.labels, { a: '1', b: '2' });
    assert.equal(c.hostname, id.slice(0, 12));
    assert.equal(c.stopSignal, 'SIGQUIT');
  });

  it('makes anonymous volumes for image VOLUMEs not mounted by the user', () => {
    const img = image({ Volumes: { '/data': {}, '/logs': {} } });
    const c = mergeConfig(img, id, {
      mounts: [{ type: 'volume', source: 'n', destination: '/data', readOnly: false }],
    });
    assert.deepEqual(
      c.mounts.map((m) => [m.destination, m.anonymous ?? false]),
      [
        ['/data', false],
        ['/logs', true],
      ],
    );
  });

  it('refuses mounts over the container root, as Docker words it', () => {
    const bind = { type: 'bind' as const, source: '/h', destination: '/', readOnly: false };
    assert.throws(
      () => checkMounts({ mounts: [bind], tmpfs: [] }),
      /invalid volume specification: '\/h:\/': invalid mount config for type "bind": invalid specification: destination can't be '\/'/,
    );
    assert.throws(
      () => checkMounts({ mounts: [{ ...bind, destination: '/x/..' }], tmpfs: [] }),
      /can't be '\/'/,
    );
    assert.throws(
      () => checkMounts({ mounts: [], tmpfs: [{ destination: '//', options: [] }] }),
      /type "tmpfs"/,
    );
    checkMounts({ mounts: [{ ...bind, destination: '/data' }], tmpfs: [{ destination: '/t', options: [] }] });
  });
});

it("refuses --cpus beyond the machine with the Docker daemon's message", () => {
  assert.throws(
    () => checkCpus(1000e9, 2),
    /^BerthError: Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available$/,
  );
  assert.throws(() => checkCpus(1e6, 2), /Range of CPUs is from 0.01 to 2.00/);
  checkCpus(2e9, 2);
  checkCpus(0, 2);
});
