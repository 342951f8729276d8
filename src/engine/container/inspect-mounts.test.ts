import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerConfig } from './config.js';
import { hostConfigMounts, mountPoints } from './inspect-mounts.js';
import { parseMount, parseTmpfs, parseVolume } from './mount-spec.js';

/** The mount fields of a config made from `-v`, `--tmpfs` and `--mount` flags. */
function configOf(flags: { v?: string[]; tmpfs?: string[]; mount?: string[] }): ContainerConfig {
  const parsed = (flags.mount ?? []).map(parseMount);
  return {
    mounts: [...(flags.v ?? []).map(parseVolume), ...parsed.flatMap((p) => (p.mount ? [p.mount] : []))],
    tmpfs: [...(flags.tmpfs ?? []).map(parseTmpfs), ...parsed.flatMap((p) => (p.tmpfs ? [p.tmpfs] : []))],
  } as ContainerConfig;
}

// The reference is `docker inspect` of dockerd 20.10 for the same flags: HostConfig.Mounts
// holds only the --mount specs (mount.Mount with empty fields omitted), the top-level Mounts
// every bind, volume and --mount tmpfs, and a --tmpfs only HostConfig.Tmpfs.
describe('inspect mounts', () => {
  const c = configOf({
    v: ['/h:/v'],
    tmpfs: ['/t1:size=1m'],
    mount: [
      'type=bind,src=/src,dst=/b,readonly,bind-propagation=rslave',
      'type=volume,target=/anon',
      'type=tmpfs,target=/scratch,tmpfs-size=1048576,tmpfs-mode=1770',
    ],
  });

  it('lists the --mount specs in HostConfig.Mounts, as given', () => {
    assert.deepEqual(hostConfigMounts(c), [
      { Type: 'bind', Source: '/src', Target: '/b', ReadOnly: true, BindOptions: { Propagation: 'rslave' } },
      { Type: 'volume', Target: '/anon' },
      { Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1770 } },
    ]);
    assert.equal(hostConfigMounts(configOf({ v: ['/h:/v'], tmpfs: ['/t'] })), null);
  });

  it('shows a --mount tmpfs in the top-level Mounts, and no --tmpfs', () => {
    const points = mountPoints(c, (name) => `/vols/${name}`);
    assert.deepEqual(
      points.map((p) => [p.Type, p.Destination]),
      [
        ['bind', '/v'],
        ['bind', '/b'],
        ['volume', '/anon'],
        ['tmpfs', '/scratch'],
      ],
    );
    assert.deepEqual(points[3], {
      Type: 'tmpfs',
      Source: '',
      Destination: '/scratch',
      Mode: '',
      RW: true,
      Propagation: '',
    });
  });
});
