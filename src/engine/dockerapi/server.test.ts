import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listenAddress } from './server.js';

describe('listenAddress', () => {
  it('reads unix sockets, and TCP addresses only with TLS', () => {
    assert.deepEqual(listenAddress('unix:///run/b/docker.sock', false), {
      kind: 'unix',
      path: '/run/b/docker.sock',
    });
    assert.deepEqual(listenAddress('tcp://127.0.0.1:2376', true), {
      kind: 'tcp',
      host: '127.0.0.1',
      port: 2376,
    });
    assert.deepEqual(listenAddress('tcp://[::1]:0', true), { kind: 'tcp', host: '::1', port: 0 });
  });

  it('refuses plain TCP, TLS on a unix socket and malformed addresses, naming them', () => {
    assert.throws(
      () => listenAddress('tcp://127.0.0.1:2375', false),
      /Refusing .*"tcp:\/\/127.0.0.1:2375" without TLS/,
    );
    assert.throws(() => listenAddress('unix:///x.sock', true), /TLS applies to tcp:\/\//);
    assert.throws(() => listenAddress('tcp://127.0.0.1', true), /Invalid TCP address "tcp:\/\/127.0.0.1"/);
    assert.throws(() => listenAddress('tcp://127.0.0.1:70000', true), /Invalid TCP address/);
    assert.throws(() => listenAddress('unix://rel.sock', false), /unix:\/\/\/ABSOLUTE\/PATH/);
    assert.throws(() => listenAddress('http://x', false), /Unsupported socket URI "http:\/\/x"/);
  });
});
