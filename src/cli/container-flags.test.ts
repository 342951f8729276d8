import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseTmpfs, parseVolume } from '../engine/container/mount-spec.js';
import {
  createOptionsFromFlags,
  parseCpus,
  parseEnv,
  parseIntFlag,
  parseMemory,
  parseRestart,
  parseSecurityOpt,
  parseUlimit,
} from './container-flags.js';

describe('container flags', () => {
  it('parses --ulimit as Docker does', () => {
    assert.deepEqual(parseUlimit('nofile=1024:2048'), { Name: 'nofile', Soft: 1024, Hard: 2048 });
    assert.deepEqual(parseUlimit('nproc=50'), { Name: 'nproc', Soft: 50, Hard: 50 });
    assert.throws(
      () => parseUlimit('bogus=1'),
      /invalid argument "bogus=1" for "--ulimit" flag: invalid ulimit type: bogus/,
    );
    assert.throws(
      () => parseUlimit('nofile=3:2'),
      /ulimit soft limit must be less than or equal to hard limit: 3 > 2/,
    );
  });

  it("refuses a non-number --stop-timeout with Docker's message", () => {
    // docker run --stop-timeout abc: invalid argument "abc" for "--stop-timeout" flag: strconv.ParseInt: parsing "abc": invalid syntax
    assert.throws(
      () => parseIntFlag('abc', '--stop-timeout'),
      /^BerthError: invalid argument "abc" for "--stop-timeout" flag: strconv.ParseInt: parsing "abc": invalid syntax$/,
    );
    assert.equal(parseIntFlag('30', '--stop-timeout'), 30);
  });

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
    assert.throws(() => parseVolume('a:b'), /invalid mode: b/);
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

  it('parses --security-opt: no-new-privileges, seccomp=unconfined and seccomp=FILE', () => {
    assert.deepEqual(parseSecurityOpt('no-new-privileges'), { noNewPrivileges: true });
    assert.deepEqual(parseSecurityOpt('no-new-privileges:true'), { noNewPrivileges: true });
    assert.deepEqual(parseSecurityOpt('seccomp=unconfined'), { seccomp: 'unconfined' });
    assert.deepEqual(parseSecurityOpt('seccomp:unconfined'), { seccomp: 'unconfined' });
    const file = join(mkdtempSync(join(tmpdir(), 'berth-flags-')), 'p.json');
    writeFileSync(file, '{"defaultAction":"SCMP_ACT_ALLOW"}');
    assert.deepEqual(parseSecurityOpt(`seccomp=${file}`), { seccomp: '{"defaultAction":"SCMP_ACT_ALLOW"}' });
    assert.throws(
      () => parseSecurityOpt('seccomp=/no/such.json'),
      /Cannot read seccomp profile "\/no\/such\.json"/,
    );
    assert.throws(() => parseSecurityOpt('apparmor=x'), /Unsupported --security-opt "apparmor=x"/);
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
    assert.equal(createOptionsFromFlags({ network: 'default' }, []).network, 'bridge');
    assert.throws(() => createOptionsFromFlags({ network: 'a b' }, []), /Invalid --network "a b"/);
    const p = createOptionsFromFlags(
      { publish: ['8080:80', '53/udp'], dns: ['10.0.0.1'], addHost: ['db:10.0.0.2'] },
      [],
    );
    assert.deepEqual(p.ports, [
      { hostIP: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIP: '', hostPort: 0, containerPort: 53, protocol: 'udp' },
    ]);
    assert.throws(
      () => createOptionsFromFlags({ network: 'host', publish: ['80'] }, []),
      /Cannot publish ports/,
    );
    assert.throws(() => createOptionsFromFlags({ addHost: ['nocolon'] }, []), /Invalid --add-host "nocolon"/);
    assert.throws(() => createOptionsFromFlags({ macAddress: 'zz' }, []), /Invalid --mac-address "zz"/);
  });
});
