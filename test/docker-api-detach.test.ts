/**
 * What must not wait: `docker rm -f` of many running containers in one command, and a
 * detached exec (`berth exec -d`, `docker exec -d`, the API's exec start with Detach), which
 * returns while its command still runs (Docker's behaviour), against a service in a sandbox.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall, type DockerService, dockerServiceSandbox, haveDocker } from './helpers/docker-service.js';
import { isRoot, type Sandbox } from './helpers/sandbox.js';

describe('docker CLI against berth system service: rm -f of many, detached exec', {
  skip: (!isRoot && 'needs root') || (!haveDocker && 'needs the docker CLI'),
}, () => {
  let box: Sandbox;
  let svc: DockerService;
  const image = 'bb:detach';
  // A loop that never ends by itself and keeps the stderr it inherits open.
  const loop = ['sh', '-c', 'while true; do sleep 1; done'];

  before(async () => {
    ({ box, svc } = await dockerServiceSandbox(image));
  });
  after(() => box.cleanup());

  it('removes ten running containers with one `docker rm -f`, leaving none', async () => {
    const label = box.name('batch');
    const ids: string[] = [];
    for (let i = 0; i < 10; i++)
      ids.push(
        (await svc.ok(['run', '-d', '--network', 'none', '--label', label, image, 'sleep', '600'])).trim(),
      );
    assert.equal((await svc.ok(['ps', '-q', '--filter', `label=${label}`])).trim().split('\n').length, 10);
    const removed = await svc.ok(['rm', '-f', ...ids]);
    assert.deepEqual(removed.trim().split('\n'), ids);
    assert.equal(await svc.ok(['ps', '-aq', '--filter', `label=${label}`]), '');
  });

  it('returns from `berth exec -d` and `docker exec -d` while the command runs on', async () => {
    const name = box.name('execd');
    await svc.ok(['run', '-d', '--name', name, '--network', 'none', image, 'sleep', '600']);
    const viaCli = await box.berth(['exec', '-d', name, ...loop]);
    assert.equal(viaCli.code, 0, viaCli.stderr);
    await svc.ok(['exec', '-d', name, ...loop]);
    // Both loops are still running after their exec returned.
    const ps = await svc.ok(['exec', name, 'ps', '-o', 'args']);
    assert.equal(ps.split('\n').filter((l) => l.startsWith('sh -c while true')).length, 2, ps);
    // A command that cannot start is still reported, from the runtime's log.
    const missing = await box.berth(['exec', '-d', name, '/no/such/command']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no such file or directory/);
    await svc.ok(['rm', '-f', name]);
  });

  it('answers an exec start with Detach once the command runs; inspect shows it running with its pid', async () => {
    const name = box.name('apid');
    await svc.ok(['run', '-d', '--name', name, '--network', 'none', image, 'sleep', '600']);
    const created = await apiCall(svc.sock, 'POST', `/containers/${name}/exec`, { Cmd: loop });
    assert.equal(created.status, 201);
    const { Id } = created.body as { Id: string };
    const started = await apiCall(svc.sock, 'POST', `/exec/${Id}/start`, { Detach: true });
    assert.equal(started.status, 200);
    const inspected = await apiCall(svc.sock, 'GET', `/exec/${Id}/json`);
    const doc = inspected.body as { Running: boolean; Pid: number };
    assert.equal(doc.Running, true);
    // The answer came once the command ran: its pid is known, and the process is there.
    assert.ok(doc.Pid > 0, String(doc.Pid));
    assert.match(await svc.ok(['exec', name, 'ps', '-o', 'args']), /sh -c while true/);
    await svc.ok(['rm', '-f', name]);
  });
});
