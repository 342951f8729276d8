// Containers on bridge networks, end to end through bin/berth inside a sandbox namespace that
// stands in for the host: addresses, published ports on loopback, user networks, joining
// another container's namespace, /etc files, and nothing left after rm.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { importBusybox } from './helpers/busybox-image.js';
import { isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';
import { until } from './helpers/until.js';

describe('container networking', { skip: !isRoot }, () => {
  let box: Sandbox;
  before(async () => {
    box = await sandbox(undefined, { netns: true });
    await importBusybox(box, 'bb:net', ['--change', 'EXPOSE 80']);
  });
  after(() => box.cleanup());
  const ok = async (args: string[]) => (await box.ok(args)).trim();

  test('a published port answers on loopback; inspect and ps show it; rm leaves nothing', async () => {
    const id = await ok([
      'run',
      '-d',
      '--name',
      'web',
      '-p',
      '127.0.0.1:18090:80',
      '-P',
      'bb:net',
      'sh',
      '-c',
      'mkdir -p /www && echo hello-web > /www/index.html && httpd -f -p 80 -h /www',
    ]);
    const [info] = JSON.parse(await ok(['inspect', id]));
    const ip = info.NetworkSettings.IPAddress as string;
    assert.match(ip, /^10\.88\./);
    assert.equal(info.NetworkSettings.Networks.bridge.IPAddress, ip);
    assert.deepEqual(info.NetworkSettings.Ports['80/tcp'], [{ HostIp: '127.0.0.1', HostPort: '18090' }]);
    let body = '';
    await until('the published port answers on loopback', async () => {
      // (busybox wget's own -T timeout crashes it; the runner's timeout bounds the wait.)
      const r = await box.exec('/bin/busybox', ['wget', '-q', '-O', '-', 'http://127.0.0.1:18090/'], {
        check: false,
        timeoutMs: 3000,
      });
      body = r.stdout;
      return body !== '';
    });
    assert.equal(body.trim(), 'hello-web');
    assert.match(await ok(['ps']), /127\.0\.0\.1:18090->80\/tcp/);
    const dup = await box.berth(['run', '-d', '-p', '18090:80', 'bb:net', 'sleep', '5']);
    assert.equal(dup.code, 125);
    assert.match(dup.stderr, /port is already allocated/);
    const hosts = await ok(['exec', 'web', 'cat', '/etc/hosts']);
    assert.match(hosts, new RegExp(`${ip.replace(/\./g, '\\.')}\\s+${id.slice(0, 12)}`));
    await ok(['rm', '-f', 'web']);
    assert.doesNotMatch((await box.exec('ip', ['-o', 'link'])).stdout, /veth/);
    const leases = readdirSync(join(box.runroot, 'ipam', 'bridge')).filter((f) => /^\d/.test(f));
    assert.deepEqual(leases, []);
    assert.doesNotMatch((await box.exec('iptables-save', [])).stdout, /18090/);
    assert.deepEqual(readdirSync(join(box.runroot, 'netns')), []);
  });

  test('containers on a user network reach each other; --ip and container: mode', async () => {
    await ok(['network', 'create', '--subnet', '10.99.0.0/24', 'appnet']);
    await ok([
      'run',
      '-d',
      '--name',
      'a1',
      '--network',
      'appnet',
      '--ip',
      '10.99.0.50',
      'bb:net',
      'sleep',
      '60',
    ]);
    await ok(['run', '-d', '--name', 'a2', '--network', 'appnet', 'bb:net', 'sleep', '60']);
    await ok(['exec', 'a2', 'ping', '-c', '1', '-W', '2', '10.99.0.50']);
    const shared = await ok([
      'run',
      '--rm',
      '--network',
      'container:a1',
      'bb:net',
      'sh',
      '-c',
      "ip -o -4 addr show eth0 | awk '{print $4}'",
    ]);
    assert.equal(shared, '10.99.0.50/24');
    const rm = await box.berth(['network', 'rm', 'appnet']);
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /active endpoints/);
    await ok(['rm', '-f', 'a1', 'a2']);
    await ok(['network', 'rm', 'appnet']);
  });

  test('user networks are isolated from each other; network rm takes their rules away', async () => {
    await ok(['network', 'create', '--subnet', '10.98.1.0/24', 'isoa']);
    await ok(['network', 'create', '--subnet', '10.98.2.0/24', 'isob']);
    const bridgeOf = async (n: string) =>
      JSON.parse(await ok(['network', 'inspect', n]))[0].Options['com.docker.network.bridge.name'] as string;
    const [brA, brB] = [await bridgeOf('isoa'), await bridgeOf('isob')];
    const serve = ['sh', '-c', 'mkdir -p /www && echo hello-i1 > /www/index.html && httpd -f -p 80 -h /www'];
    await ok([
      'run',
      '-d',
      '--name',
      'i1',
      '--network',
      'isoa',
      '--ip',
      '10.98.1.10',
      '-p',
      '18095:80',
      'bb:net',
      ...serve,
    ]);
    await ok([
      'run',
      '-d',
      '--name',
      'i2',
      '--network',
      'isob',
      '--ip',
      '10.98.2.10',
      'bb:net',
      'sleep',
      '60',
    ]);
    await ok([
      'run',
      '-d',
      '--name',
      'i3',
      '--network',
      'isoa',
      '--ip',
      '10.98.1.11',
      'bb:net',
      'sleep',
      '60',
    ]);
    // Dropped packets are counted on the DROP rule for the bridge they were headed to.
    const drops = async (br: string) => {
      const out = (await box.exec('iptables', ['-w', '-v', '-x', '-n', '-L', 'BERTH-ISOLATION-2'])).stdout;
      const line = out.split('\n').find((l) => l.split(/\s+/).includes(br));
      assert.ok(line, `no DROP rule for ${br} in:\n${out}`);
      return Number(line.trim().split(/\s+/)[0]);
    };
    await ok(['exec', 'i3', 'ping', '-c', '1', '-W', '2', '10.98.1.10']);
    for (const [from, to, br] of [
      ['i1', '10.98.2.10', brB],
      ['i2', '10.98.1.10', brA],
    ]) {
      const before = await drops(br!);
      const r = await box.berth(['exec', from!, 'ping', '-c', '1', '-W', '1', to!]);
      assert.notEqual(r.code, 0, `${from} reached ${to} across networks`);
      assert.ok((await drops(br!)) > before, `the ping from ${from} was not dropped by the isolation rule`);
    }
    // A published port stays reachable from the other network, through the host's address.
    const fetch = (from: string, url: string) =>
      box.berth(['exec', from, 'timeout', '3', 'wget', '-q', '-O', '-', url]).then((r) => r.stdout.trim());
    await until(
      'i1 serves on its own network',
      async () => (await fetch('i3', 'http://10.98.1.10/')) === 'hello-i1',
    );
    assert.equal(await fetch('i2', 'http://10.98.2.1:18095/'), 'hello-i1');
    await ok(['rm', '-f', 'i1', 'i2', 'i3']);
    await ok(['network', 'rm', 'isoa', 'isob']);
    const rules = (await box.exec('iptables-save', [])).stdout;
    assert.doesNotMatch(rules, new RegExp(`${brA}|${brB}`));
  });

  test('bad input: unknown network, --ip outside the subnet, ports with --network host', async () => {
    let r = await box.berth(['run', '--rm', '--network', 'nosuch', 'bb:net', 'true']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /network nosuch not found/);
    r = await box.berth(['run', '--rm', '--ip', '192.168.7.7', 'bb:net', 'true']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /not in network bridge's subnet/);
    r = await box.berth(['run', '--rm', '--network', 'host', '-p', '80:80', 'bb:net', 'true']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /Cannot publish ports with --network host/);
    r = await box.berth(['run', '--rm', '-p', '99999:80', 'bb:net', 'true']);
    assert.match(r.stderr, /Invalid port "99999"/);
    r = await box.berth(['network', 'create', 'n'.repeat(300)]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Invalid network name "n+": it is 300 characters long; the limit is 128/);
    r = await box.berth(['network', 'create', '-bad']);
    assert.notEqual(r.code, 0);
    r = await box.berth(['network', 'create', 'bad/name']);
    assert.match(r.stderr, /Invalid network name "bad\/name"/);
    assert.doesNotMatch(await ok(['network', 'ls']), /nnnn|bad/);
    assert.equal(await ok(['ps', '-a', '-q']), '');
    assert.deepEqual(readdirSync(join(box.runroot, 'netns')), []);
  });
});
