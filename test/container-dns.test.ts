// The embedded DNS server, end to end inside a sandbox namespace standing in for the host:
// on a user network, containers resolve each other by name, alias and short ID; other names go
// to the upstream resolver (here a fake one on the namespace's loopback, so nothing leaves).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { busyboxRootfsTar } from './helpers/busybox-image.js';
import { isRoot, repoRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

const upstream = `
const dgram = require('node:dgram');
const dns = require(${JSON.stringify(join(repoRoot, 'node_modules', 'dns-packet'))});
const s = dgram.createSocket('udp4');
s.on('message', (m, r) => {
  const q = dns.decode(m);
  s.send(dns.encode({ type: 'response', id: q.id, flags: dns.RECURSION_AVAILABLE, questions: q.questions,
    answers: q.questions[0].type === 'A' ? [{ type: 'A', name: q.questions[0].name, ttl: 60, data: '192.0.2.7' }] : [] }),
    r.port, r.address);
});
s.bind(5353, '127.0.0.1', () => console.log('upstream ready'));
`;

describe('embedded DNS on user networks', { skip: !isRoot }, () => {
  let box: Sandbox;
  const env = { BERTH_DNS_UPSTREAM: '127.0.0.1:5353' };
  before(async () => {
    box = await sandbox(undefined, { netns: true });
    const r = await box.berth(['import', await busyboxRootfsTar(), 'bb:dns']);
    assert.equal(r.code, 0, r.stderr);
    const up = box.spawn(process.execPath, ['-e', upstream], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve) => up.stdout?.once('data', () => resolve()));
  });
  after(() => box.cleanup());
  const ok = async (args: string[]) => {
    const r = await box.berth(args, { env });
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };

  test('names, aliases and short IDs resolve on the network; other names are forwarded', async () => {
    await ok(['network', 'create', 'appnet']);
    const id = await ok([
      'run',
      '-d',
      '--name',
      'web',
      '--network',
      'appnet',
      '--network-alias',
      'www',
      'bb:dns',
      'sleep',
      '600',
    ]);
    const [info] = JSON.parse(await ok(['inspect', id]));
    const ip = info.NetworkSettings.Networks.appnet.IPAddress as string;
    const gateway = info.NetworkSettings.Networks.appnet.Gateway as string;
    const resolve = async (name: string) => {
      let out = '';
      // The server may take a moment to bind the network's address the first time.
      for (let i = 0; i < 30; i++) {
        const r = await box.berth(['run', '--rm', '--network', 'appnet', 'bb:dns', 'nslookup', name], {
          env,
        });
        out = r.stdout + r.stderr;
        if (r.code === 0 && /Address:?\s+\d/.test(out.split(/Name:/)[1] ?? '')) return out;
        await new Promise((res) => setTimeout(res, 300));
      }
      return out;
    };
    for (const name of ['web', 'www', id.slice(0, 12)])
      assert.match(await resolve(name), new RegExp(`Address:?\\s+${ip.replace(/\./g, '\\.')}`), name);
    assert.match(await resolve('example.test'), /Address:?\s+192\.0\.2\.7/);
    const conf = await ok(['run', '--rm', '--network', 'appnet', 'bb:dns', 'cat', '/etc/resolv.conf']);
    assert.match(conf, new RegExp(`nameserver ${gateway.replace(/\./g, '\\.')}`));
    await ok(['rm', '-f', 'web']);
  });
});
