/**
 * Output scripts parse, against Docker's documented behaviour: `logs -t` times, the quoted
 * COMMAND of `ps`, `system df`'s Images row, and `system prune` removing dangling images
 * and unused networks besides stopped containers, `volume prune`'s reclaimed bytes.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { busyboxRootfsTar, importBusybox } from './helpers/busybox-image.js';
import { isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

describe('output details', { skip: !isRoot && 'needs root' }, () => {
  let box: Sandbox;
  const ok = (args: string[]) => box.ok(args);

  before(async () => {
    // Networks are bridges: made inside the sandbox's own namespace.
    box = await sandbox(undefined, { netns: true });
    await importBusybox(box, 'bb:out');
  });
  after(() => box.cleanup());

  it('logs -t prints RFC 3339 UTC times with nanoseconds and Z; ps quotes COMMAND', async () => {
    const name = box.name('logs');
    await ok(['run', '--network', 'none', '--name', name, 'bb:out', 'sh', '-c', 'echo one']);
    // docker logs -t: "2026-11-30T06:10:00.123456789Z one"
    assert.match(await ok(['logs', '-t', name]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z one\n$/);
    // docker ps: COMMAND is strconv.Quote'd, after cutting it to 20 characters with "…".
    assert.equal(
      await ok(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Command}}']),
      '"sh -c echo one"\n',
    );
    assert.equal(
      await ok(['ps', '-a', '--no-trunc', '--filter', `name=${name}`, '--format', '{{json .Command}}']),
      '"\\"sh -c echo one\\""\n',
    );
    await ok(['rm', name]);
  });

  it("a container's own network namespace has Docker's sysctls: any user binds low ports and pings", async () => {
    // Docker sets net.ipv4.ip_unprivileged_port_start=0 and ping_group_range "0 2147483647".
    const out = await ok([
      'run',
      '--rm',
      '--network',
      'none',
      '--user',
      '1000',
      'bb:out',
      'sh',
      '-c',
      // busybox httpd binds before it goes to the background, so its status says whether it could.
      'cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range; httpd -p 80 && echo bound',
    ]);
    assert.equal(out, '0\n0\t2147483647\nbound\n');
  });

  it('--sysctl, --shm-size and --ulimit reach the container (docker run has the same flags)', async () => {
    const out = await ok([
      'run',
      '--rm',
      '--network',
      'none',
      '--shm-size',
      '1m',
      '--sysctl',
      'kernel.shmmax=12345',
      '--ulimit',
      'nofile=512:1024',
      'bb:out',
      'sh',
      '-c',
      "cat /proc/sys/kernel/shmmax; df -k /dev/shm | awk 'NR==2 {print $2}'; ulimit -n; ulimit -Hn",
    ]);
    assert.equal(out, '12345\n1024\n512\n1024\n');
    const bad = await box.berth(['run', '--rm', '--sysctl', 'vm.swappiness=1', 'bb:out', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /sysctl "vm.swappiness" is not in a separate kernel namespace/);
  });

  it('port lists published ports as docker port does', async () => {
    const name = box.name('port');
    await ok(['run', '-d', '--name', name, '-p', '127.0.0.1:18080:80', 'bb:out', 'sleep', '1000']);
    assert.equal(await ok(['port', name]), '80/tcp -> 127.0.0.1:18080\n');
    assert.equal(await ok(['port', name, '80/tcp']), '127.0.0.1:18080\n');
    const none = await box.berth(['port', name, '81']);
    assert.notEqual(none.code, 0);
    assert.equal(none.stderr, `Error: No public port '81/tcp' published for ${name}\n`);
    await ok(['rm', '-f', name]);
  });

  it('system df has an Images row; system prune removes stopped containers, unused networks and dangling images', async () => {
    const df = await ok(['system', 'df']);
    assert.match(df, /^TYPE +TOTAL +ACTIVE +SIZE\nImages +1 +0 +\S+\nContainers /);
    // Importing again under the same name leaves the first image dangling (no name).
    await ok(['import', '--change', 'ENV X=1', await busyboxRootfsTar(), 'bb:out']);
    const dangling = (await ok(['images', '-q', '--no-trunc'])).split('\n').filter(Boolean);
    assert.equal(dangling.length, 2);
    const net = box.name('unused');
    await ok(['network', 'create', net]);
    const ctr = box.name('stopped');
    await ok(['run', '--network', 'none', '--name', ctr, 'bb:out', 'true']);
    const out = await ok(['system', 'prune', '-f']);
    assert.match(
      out,
      new RegExp(`^Deleted Containers:\\n[a-f0-9]{64}\\n\\nDeleted Networks:\\n${net}\\n\\n`),
    );
    assert.match(out, /\nDeleted Images:\ndeleted: sha256:[a-f0-9]{64}\n/);
    assert.match(out, /\nTotal reclaimed space: /);
    assert.equal((await ok(['images', '-q'])).split('\n').filter(Boolean).length, 1);
    assert.equal(await ok(['ps', '-a', '-q']), '');
    assert.doesNotMatch(await ok(['network', 'ls']), new RegExp(net));
  });

  it('volume prune reports the bytes its volumes held, as Docker does', async () => {
    const vol = box.name('vol');
    await ok(['volume', 'create', vol]);
    const ctr = box.name('filler');
    // 1500 bytes in one file: Docker counts files only, so the folder adds nothing.
    await ok([
      'run',
      '--network',
      'none',
      '--name',
      ctr,
      '-v',
      `${vol}:/v`,
      'bb:out',
      'sh',
      '-c',
      'head -c 1500 /dev/zero > /v/f',
    ]);
    await ok(['rm', ctr]);
    assert.equal(
      await ok(['volume', 'prune', '-a', '-f']),
      `Deleted Volumes:\n${vol}\n\nTotal reclaimed space: 1.5kB\n`,
    );
    assert.equal(await ok(['volume', 'prune', '-f']), 'Total reclaimed space: 0B\n');
  });

  it("images --filter: dangling, label, reference, since, and Docker's error for an unknown key", async () => {
    const tar = await busyboxRootfsTar();
    await ok(['import', '--change', 'LABEL a=b', tar, 'lab:1']);
    // Importing under the same name again leaves the first one dangling.
    await ok(['import', '--change', 'LABEL a=b', '--change', 'ENV Y=1', tar, 'lab:1']);
    const ids = async (...f: string[]) =>
      (await ok(['images', '-q', '--no-trunc', ...f.flatMap((x) => ['-f', x])])).split('\n').filter(Boolean);
    const [labNow] = await ids('reference=lab');
    const [old] = await ids('dangling=true');
    assert.ok(labNow && old && labNow !== old);
    assert.deepEqual((await ids('label=a=b')).sort(), [labNow, old].sort());
    assert.deepEqual(await ids('label=a=b', 'dangling=false'), [labNow]);
    assert.deepEqual(await ids('reference=l?b:*'), [labNow]);
    assert.deepEqual((await ids('since=bb:out')).sort(), [labNow, old].sort());
    assert.deepEqual(await ids('before=bb:out'), []);
    const bad = await box.berth(['images', '-f', 'bogus=1']);
    assert.equal(bad.code, 125);
    assert.equal(bad.stderr, "Error: Invalid filter 'bogus'\n");
  });

  it('top-level inspect finds images, networks and volumes too; --type narrows; none is "No such object"', async () => {
    // docker inspect: containers first, then images, networks, volumes.
    const net = box.name('insp');
    await ok(['network', 'create', net]);
    await ok(['volume', 'create', net]);
    const kinds = async (...args: string[]) =>
      ok(['inspect', '--format', '{{if .Driver}}{{.Driver}}{{else}}{{.Os}}{{end}}', ...args]);
    assert.equal(await kinds('bb:out'), 'linux\n');
    assert.equal(await kinds(net), 'bridge\n');
    assert.equal(await kinds('--type', 'volume', net), 'local\n');
    const none = await box.berth(['inspect', 'no-such-thing']);
    assert.equal(none.code, 1);
    assert.equal(none.stderr, 'Error: No such object: no-such-thing\n');
    const ctrOnly = await box.berth(['container', 'inspect', 'bb:out']);
    assert.match(ctrOnly.stderr, /No such container: bb:out/);
    await ok(['network', 'rm', net]);
    await ok(['volume', 'rm', net]);
  });

  it('history lists the layers newest first, the top one with the image ID (docker history)', async () => {
    const id = (await ok(['images', '-q', 'bb:out'])).trim();
    const table = (await ok(['history', 'bb:out'])).split('\n');
    assert.match(table[0]!, /^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$/);
    assert.match(table[1]!, new RegExp(`^${id} +\\S.* ago +.*\\d(\\.\\d+)?[kMG]?B`));
    const rows = (await ok(['image', 'history', '--format', '{{.ID}} {{.Size}}', 'bb:out']))
      .split('\n')
      .filter(Boolean);
    assert.equal(rows[0]!.split(' ')[0], id);
    // The busybox layer is over a megabyte unpacked; Docker reports uncompressed sizes.
    assert.ok(
      rows.some((r) => /MB$/.test(r)),
      rows.join('; '),
    );
    assert.equal(
      (await box.berth(['history', 'no-such:image'])).stderr,
      'Error: No such image: no-such:image\n',
    );
  });

  it('export writes the container filesystem as a tar that import takes back (docker export)', async () => {
    const name = box.name('exp');
    await ok(['run', '--network', 'none', '--name', name, 'bb:out', 'sh', '-c', 'echo kept > /made-here']);
    const file = join(box.dir, 'exp.tar');
    await ok(['export', '-o', file, name]);
    await ok(['import', file, 'exp:1']);
    assert.equal(await ok(['run', '--rm', '--network', 'none', 'exp:1', 'cat', '/made-here']), 'kept\n');
    await ok(['rm', name]);
  });

  it('images, volume ls and network ls take Go templates and table templates', async () => {
    // docker images --format '{{.Repository}}:{{.Tag}}' prints one line per tag; `table`
    // adds Docker's titles (IMAGE ID, REPOSITORY, ...); volume ls and network ls likewise.
    assert.match(
      await ok(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']),
      /^bb:out [0-9a-f]{12}$/m,
    );
    const table = await ok(['images', '--format', 'table {{.Repository}}\t{{.ID}}']);
    assert.match(table, /^REPOSITORY\s+IMAGE ID\n/);
    assert.match(table, /^bb\s+[0-9a-f]{12}$/m);
    const vol = box.name('vol');
    await ok(['volume', 'create', '--label', 'b=2', '--label', 'a=1', vol]);
    assert.match(
      await ok(['volume', 'ls', '--format', '{{.Name}} {{.Labels}} {{.Driver}}']),
      new RegExp(`^${vol} a=1,b=2 local$`, 'm'),
    );
    assert.match(await ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']), /^none null$/m);
  });
});
