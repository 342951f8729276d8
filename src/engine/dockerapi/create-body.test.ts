import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CreateBody, createOptionsFromBody } from './create-body.js';

describe('createOptionsFromBody', () => {
  it("maps Docker's Config and HostConfig to engine options", () => {
    const o = createOptionsFromBody(
      {
        Image: 'bb',
        Cmd: ['echo', 'hi'],
        Entrypoint: ['/bin/sh', '-c'],
        Env: ['A=1'],
        Tty: true,
        OpenStdin: true,
        HostConfig: {
          Binds: ['/srv:/data:ro', 'vol:/v'],
          PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] },
          NetworkMode: 'none',
          RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 },
          AutoRemove: true,
          Memory: 1 << 20,
          NanoCpus: 5e8,
          CapAdd: ['NET_ADMIN'],
          SecurityOpt: ['seccomp=unconfined', 'no-new-privileges'],
          Tmpfs: { '/run': 'size=1m' },
          Init: true,
        },
      },
      'web',
    );
    assert.equal(o.name, 'web');
    assert.deepEqual(o.command, ['echo', 'hi']);
    assert.deepEqual(o.entrypoint, ['/bin/sh', '-c']);
    assert.deepEqual(o.mounts, [
      { type: 'bind', source: '/srv', destination: '/data', readOnly: true },
      { type: 'volume', source: 'vol', destination: '/v', readOnly: false },
    ]);
    assert.deepEqual(o.ports, [{ hostIP: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
    assert.equal(o.network, 'none');
    assert.deepEqual(o.restart, { name: 'on-failure', maximumRetryCount: 2 });
    assert.equal(o.seccomp, 'unconfined');
    assert.equal(o.noNewPrivileges, true);
    assert.deepEqual(o.tmpfs, [{ destination: '/run', options: ['size=1m'] }]);
    assert.equal(o.init, true);
    assert.equal(o.autoRemove, true);
  });

  it('clears the entrypoint for [""] and keeps the image command for a null Cmd', () => {
    const o = createOptionsFromBody({ Image: 'bb', Entrypoint: [''], Cmd: null });
    assert.deepEqual(o.entrypoint, []);
    assert.equal(o.command, undefined);
  });

  it('names a bad port in its error', () => {
    assert.throws(
      () => createOptionsFromBody({ HostConfig: { PortBindings: { '99999/tcp': [] } } }),
      /Invalid port "99999\/tcp"/,
    );
  });

  it('maps Ulimits, Devices, LogConfig, Healthcheck and typed Mounts', () => {
    const o = createOptionsFromBody({
      Image: 'bb',
      Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 2e9, Retries: 3 },
      HostConfig: {
        Ulimits: [{ Name: 'nofile', Soft: 100, Hard: 200 }],
        Devices: [{ PathOnHost: '/dev/null', PathInContainer: '', CgroupPermissions: '' }],
        LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } },
        Mounts: [
          {
            Type: 'bind',
            Source: '/srv',
            Target: '/data',
            ReadOnly: true,
            BindOptions: { Propagation: 'rslave' },
          },
          { Type: 'volume', Source: '', Target: '/anon', VolumeOptions: { NoCopy: true } },
          { Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1777 } },
        ],
      },
    });
    assert.deepEqual(o.ulimits, [{ Name: 'nofile', Soft: 100, Hard: 200 }]);
    assert.deepEqual(o.devices, [
      { PathOnHost: '/dev/null', PathInContainer: '/dev/null', CgroupPermissions: 'rwm' },
    ]);
    assert.deepEqual(o.log, {
      driver: 'json-file',
      options: { 'max-size': '1m', 'max-file': '2' },
      maxSize: 1024 * 1024,
    });
    assert.deepEqual(o.healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 2e9, Retries: 3 });
    assert.deepEqual(o.mounts, [
      {
        type: 'bind',
        source: '/srv',
        destination: '/data',
        readOnly: true,
        requireSource: true,
        propagation: 'rslave',
        viaMount: true,
      },
      {
        type: 'volume',
        source: '',
        destination: '/anon',
        readOnly: false,
        anonymous: true,
        noCopy: true,
        viaMount: true,
      },
    ]);
    assert.deepEqual(o.tmpfs, [
      { destination: '/scratch', options: ['size=1048576', 'mode=1777'], viaMount: true },
    ]);
  });

  it('takes a stop signal by name or number, and refuses an unknown one', () => {
    assert.equal(createOptionsFromBody({ Image: 'bb', StopSignal: 'INT' }).stopSignal, 'SIGINT');
    assert.equal(createOptionsFromBody({ Image: 'bb', StopSignal: '9' }).stopSignal, '9');
    assert.throws(
      () => createOptionsFromBody({ Image: 'bb', StopSignal: 'SIGNOPE' }),
      /Invalid signal: SIGNOPE/,
    );
  });

  it("defaults the log driver to Docker's json-file and accepts none", () => {
    assert.equal(createOptionsFromBody({ Image: 'bb' }).log?.driver, 'json-file');
    assert.equal(
      createOptionsFromBody({ Image: 'bb', HostConfig: { LogConfig: { Type: 'none' } } }).log?.driver,
      'none',
    );
  });

  it("refuses bad ulimits, devices and log drivers in Docker's words", () => {
    const hc = (HostConfig: CreateBody['HostConfig']) => () =>
      createOptionsFromBody({ Image: 'bb', HostConfig });
    assert.throws(hc({ Ulimits: [{ Name: 'nofiles', Soft: 1, Hard: 1 }] }), /invalid ulimit type: nofiles/);
    assert.throws(
      hc({ Ulimits: [{ Name: 'nofile', Soft: 2, Hard: 1 }] }),
      /soft limit must be less than or equal to hard limit: 2 > 1/,
    );
    assert.throws(hc({ Devices: [{ PathOnHost: 'dev/null' }] }), /dev\/null is not an absolute path/);
    assert.throws(hc({ LogConfig: { Type: 'syslog' } }), /no log driver named 'syslog'/);
    assert.throws(
      hc({ LogConfig: { Type: 'none', Config: { 'max-size': '1m' } } }),
      /unknown log opt 'max-size' for none/,
    );
    assert.throws(
      hc({ Mounts: [{ Type: 'bind', Source: 'rel', Target: '/x' }] }),
      /mount path must be absolute/,
    );
  });
});
