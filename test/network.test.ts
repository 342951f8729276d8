// The CNI network layer on bare network namespaces, inside a sandbox namespace that stands in
// for the host: addresses, routing between endpoints, NAT'd published ports on loopback,
// parallel attaches, and nothing left behind after detach.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run } from '../src/core/exec.js';
import { NetworkStore } from '../src/engine/network/network-store.js';
import { openEngineDb } from '../src/engine/state/db.js';
import { isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

describe('network layer', { skip: !isRoot }, () => {
  let box: Sandbox;
  before(async () => {
    box = await sandbox(undefined, { netns: true });
  });
  after(() => box.cleanup());

  // Library steps run in a child process inside the sandbox namespace, which stands in for
  // the host: the CNI plugins they start must build bridges there, not on the real host.
  async function lib(script: string): Promise<string> {
    const r = await box.exec(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.env.BERTH_REPO ?? process.cwd(),
    });
    return r.stdout;
  }
  const imports = `
    import { attachNetworks, detachNetworks } from './src/engine/network/attach.ts';
    import { createNetns, removeNetns } from './src/engine/network/netns.ts';
    import { NetworkStore } from './src/engine/network/network-store.ts';
    import { openEngineDb } from './src/engine/state/db.ts';
  `;
  const attach = (id: string, extra = '') =>
    lib(`${imports}
      const db = openEngineDb(${JSON.stringify(box.root)});
      const ns = await createNetns(${JSON.stringify(box.runroot)}, ${JSON.stringify(id)});
      const a = await attachNetworks(db, { root: ${JSON.stringify(box.root)}, runroot: ${JSON.stringify(box.runroot)} }, { containerId: ${JSON.stringify(id)}, netns: ns, networks: [{ name: 'bridge' }] ${extra} });
      console.log(JSON.stringify({ ns, ip: a[0].ip, ports: a[0].ports }));`).then((o) =>
      JSON.parse(o.trim().split('\n').pop()!),
    );
  const detach = (id: string) =>
    lib(`${imports}
      const db = openEngineDb(${JSON.stringify(box.root)});
      const ns = ${JSON.stringify(join(box.runroot, 'netns'))} + '/' + ${JSON.stringify(id)};
      await detachNetworks(db, { root: ${JSON.stringify(box.root)}, runroot: ${JSON.stringify(box.runroot)} }, ${JSON.stringify(id)}, ns);
      await removeNetns(ns);`);

  test('two endpoints on the default bridge reach each other; a published port answers on loopback', async () => {
    const before = (await box.exec('iptables-save', [])).stdout
      .split('\n')
      .filter((l) => l.startsWith('-A')).length;
    const a = await attach('ctr-a');
    const b = await attach(
      'ctr-b',
      ", ports: [{ hostIP: '', hostPort: 18080, containerPort: 80, protocol: 'tcp' }]",
    );
    assert.match(a.ip, /^10\.88\./);
    assert.notEqual(a.ip, b.ip);
    await run('nsenter', [`--net=${a.ns}`, '/bin/busybox', 'ping', '-c', '1', '-W', '2', b.ip]);
    const www = join(box.dir, 'www');
    mkdirSync(www);
    writeFileSync(join(www, 'index.html'), 'hello from b');
    await run('nsenter', [`--net=${b.ns}`, '/bin/busybox', 'httpd', '-p', '80', '-h', www]);
    box.defer(() => run('pkill', ['-f', `httpd -p 80 -h ${www}`], { check: false }));
    const got = await box.exec('/bin/busybox', ['wget', '-q', '-O', '-', 'http://127.0.0.1:18080/']);
    assert.equal(got.stdout, 'hello from b');
    const direct = await box.exec('/bin/busybox', ['wget', '-q', '-O', '-', `http://${b.ip}/`]);
    assert.equal(direct.stdout, 'hello from b');
    await run('pkill', ['-f', `httpd -p 80 -h ${www}`], { check: false });
    await detach('ctr-a');
    await detach('ctr-b');
    const links = (await box.exec('ip', ['-o', 'link'])).stdout;
    assert.doesNotMatch(links, /veth/, 'no veth pair is left');
    const leases = readdirSync(join(box.runroot, 'ipam', 'bridge')).filter((f) => /^\d/.test(f));
    assert.deepEqual(leases, [], 'no address lease is left');
    const rules = (await box.exec('iptables-save', [])).stdout.split('\n').filter((l) => l.startsWith('-A'));
    assert.ok(
      !rules.some((r) => /ctr-a|ctr-b|18080/.test(r)),
      `rules left: ${rules.filter((r) => /18080/.test(r)).join('\n')}`,
    );
    assert.ok(rules.length <= before + 12, 'only the plugins’ shared chains remain');
  });

  test('a published port in use is refused, and nothing is left half-configured', async () => {
    await attach('ctr-c', ", ports: [{ hostIP: '', hostPort: 18081, containerPort: 80, protocol: 'tcp' }]");
    await assert.rejects(
      attach('ctr-d', ", ports: [{ hostIP: '', hostPort: 18081, containerPort: 80, protocol: 'tcp' }]"),
      /port is already allocated/,
    );
    await detach('ctr-c');
    await detach('ctr-d');
    const db = openEngineDb(box.root);
    assert.deepEqual(new NetworkStore(db).attachmentsOf('bridge'), []);
  });

  test('30 parallel attaches get 30 distinct addresses', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `par-${i}`);
    const results = await Promise.all(ids.map((id) => attach(id)));
    assert.equal(new Set(results.map((r) => r.ip)).size, 30);
    await Promise.all(ids.map((id) => detach(id)));
    const leases = readdirSync(join(box.runroot, 'ipam', 'bridge')).filter((f) => /^\d/.test(f));
    assert.deepEqual(leases, []);
  });
});
