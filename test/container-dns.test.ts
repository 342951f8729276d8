// The embedded DNS server, end to end inside a sandbox namespace standing in for the host:
// on a user network, containers resolve each other by name, alias and short ID; other names go
// to the upstream resolver (here a fake one on the namespace's loopback, so nothing leaves);
// the first lookup on a new network is answered.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { importBusybox } from './helpers/busybox-image.js';
import { isRoot, repoRoot, type Sandbox, sandbox } from './helpers/sandbox.js';
import { until } from './helpers/until.js';

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
    await importBusybox(box, 'bb:dns');
    const up = box.spawn(process.execPath, ['-e', upstream], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve) => up.stdout?.once('data', () => resolve()));
  });
  after(() => box.cleanup());
  const ok = async (args: string[]) => (await box.ok(args, { env })).trim();

  // Docker answers a container's first lookup. No retries here: the first try must succeed.
  test('the first lookup on a new network is answered, by a server just started or one that runs', async () => {
    const lookup = async (net: string, name: string) => {
      const r = await box.berth(['run', '--rm', '--network', net, 'bb:dns', 'nslookup', name], { env });
      return r.stdout + r.stderr;
    };
    // No server runs yet: this container's start starts it.
    await ok(['network', 'create', 'first1']);
    assert.match(await lookup('first1', 'example.test'), /Address:?\s+192\.0\.2\.7/);
    // The server runs but has not seen this network: it is woken and answers before the container starts.
    await ok(['network', 'create', 'first2']);
    const db = await ok(['run', '-d', '--name', 'db', '--network', 'first2', 'bb:dns', 'sleep', '600']);
    const [info] = JSON.parse(await ok(['inspect', db]));
    const ip = (info.NetworkSettings.Networks.first2.IPAddress as string).replace(/\./g, '\\.');
    assert.match(await lookup('first2', 'db'), new RegExp(`Address:?\\s+${ip}`));
    await ok(['rm', '-f', 'db']);
  });

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
      await until(
        () => `${name} resolves on appnet: ${out}`,
        async () => {
          const r = await box.berth(['run', '--rm', '--network', 'appnet', 'bb:dns', 'nslookup', name], {
            env,
          });
          out = r.stdout + r.stderr;
          return r.code === 0 && /Address:?\s+\d/.test(out.split(/Name:/)[1] ?? '');
        },
        30_000,
      );
      return out;
    };
    for (const name of ['web', 'www', id.slice(0, 12)])
      assert.match(await resolve(name), new RegExp(`Address:?\\s+${ip.replace(/\./g, '\\.')}`), name);
    assert.match(await resolve('example.test'), /Address:?\s+192\.0\.2\.7/);
    const conf = await ok(['run', '--rm', '--network', 'appnet', 'bb:dns', 'cat', '/etc/resolv.conf']);
    assert.match(conf, new RegExp(`nameserver ${gateway.replace(/\./g, '\\.')}`));
    await ok(['rm', '-f', 'web']);
  });
  test('network connect and disconnect, running and stopped; errors as Docker words them', async () => {
    await ok(['network', 'create', 'net2']);
    await ok(['network', 'create', 'appnet2']);
    const id = await ok(['run', '-d', '--name', 'app', '--network', 'appnet2', 'bb:dns', 'sleep', '600']);
    await ok(['network', 'connect', '--alias', 'api', 'net2', 'app']);
    let [info] = JSON.parse(await ok(['inspect', id]));
    assert.deepEqual(Object.keys(info.NetworkSettings.Networks).sort(), ['appnet2', 'net2']);
    const ip2 = info.NetworkSettings.Networks.net2.IPAddress as string;
    assert.match(ip2, /^10\./);
    // The container now has a second interface, and is known on net2 by name and alias.
    const addrs = await ok(['exec', 'app', 'ip', '-o', '-4', 'addr']);
    assert.match(addrs, /eth1\s+inet /);
    const lookup = async (name: string) => {
      const r = await box.berth(['run', '--rm', '--network', 'net2', 'bb:dns', 'nslookup', name], { env });
      return r.stdout;
    };
    for (const name of ['app', 'api']) {
      let out = '';
      await until(
        () => `${name} resolves to ${ip2} on net2: ${out}`,
        async () => {
          out = await lookup(name);
          return out.includes(ip2);
        },
        30_000,
      );
    }
    const again = await box.berth(['network', 'connect', 'net2', 'app'], { env });
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /endpoint with name app already exists in network net2/);
    const nope = await box.berth(['network', 'connect', 'no-such-net', 'app'], { env });
    assert.match(nope.stderr, /network no-such-net not found/);
    // It stays connected across a restart, and leaves on disconnect.
    await ok(['restart', '-t', '0', 'app']);
    [info] = JSON.parse(await ok(['inspect', id]));
    assert.deepEqual(Object.keys(info.NetworkSettings.Networks).sort(), ['appnet2', 'net2']);
    await ok(['network', 'disconnect', 'net2', 'app']);
    [info] = JSON.parse(await ok(['inspect', id]));
    assert.deepEqual(Object.keys(info.NetworkSettings.Networks), ['appnet2']);
    assert.doesNotMatch(await ok(['exec', 'app', 'ip', '-o', '-4', 'addr']), /eth1/);
    const notThere = await box.berth(['network', 'disconnect', 'net2', 'app'], { env });
    assert.match(notThere.stderr, /is not connected to network net2/);
    await ok(['rm', '-f', 'app']);
  });

  test('an --internal network has no route out and no masquerade', async () => {
    await ok(['network', 'create', '--internal', 'inner']);
    await ok(['network', 'create', 'outer']);
    const routes = async (net: string) => ok(['run', '--rm', '--network', net, 'bb:dns', 'ip', 'route']);
    assert.doesNotMatch(await routes('inner'), /default/);
    assert.match(await routes('outer'), /default via/);
    const subnet = async (name: string) =>
      JSON.parse(await ok(['network', 'inspect', name]))[0].IPAM.Config[0].Subnet as string;
    const [inner, outer] = [await subnet('inner'), await subnet('outer')];
    // The bridge plugin masquerades a network's traffic through a chain named for it.
    await ok(['run', '-d', '--name', 'in1', '--network', 'inner', 'bb:dns', 'sleep', '60']);
    await ok(['run', '-d', '--name', 'out1', '--network', 'outer', 'bb:dns', 'sleep', '60']);
    const natNow = (await box.exec('iptables-save', ['-t', 'nat'])).stdout;
    assert.ok(
      natNow.includes(outer.split('/')[0]!.split('.').slice(0, 3).join('.')),
      `masquerade for ${outer}`,
    );
    assert.ok(
      !natNow.includes(inner.split('/')[0]!.split('.').slice(0, 3).join('.')),
      `no masquerade for ${inner}`,
    );
    await ok(['rm', '-f', 'in1', 'out1']);
  });
});
