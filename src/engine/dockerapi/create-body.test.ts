import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOptionsFromBody } from './create-body.js';

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
});
