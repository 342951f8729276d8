// The engine side of the agent's image GC and metrics on a real store: an image any engine
// container uses is refused (a pod's or one made with `berth run`), an unused one goes with
// all its names; a running container's usage comes from its cgroups.
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { EngineRuntime } from '../src/cluster/agent/engine-runtime.js';
import { type Engine, openEngine } from '../src/engine/engine.js';
import { busyboxRootfsTar } from './helpers/busybox-image.js';
import { berthBin, isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

describe('agent image GC and usage on the engine', { skip: !isRoot }, () => {
  let box: Sandbox;
  let engine: Engine;
  let rt: EngineRuntime;
  before(async () => {
    box = await sandbox(undefined);
    process.env.BERTH_CGROUP_PARENT = box.cgroupParent;
    engine = openEngine({ root: box.root, runroot: box.runroot, self: [process.execPath, '--', berthBin] });
    rt = new EngineRuntime(engine, { podCidr: '10.99.0.0/24' });
    for (const name of ['gc:one', 'gc:two'])
      await engine.images.import(createReadStream(await busyboxRootfsTar()), { name });
    engine.images.tag('gc:two', 'gc:alias');
  });
  after(async () => {
    engine?.close();
    await box?.cleanup();
  });

  test('an image a container uses is refused; an unused one goes with all its names', async () => {
    const images = await rt.listImages();
    const one = images.find((i) => i.names.some((n) => n.includes('gc:one')));
    const two = images.find((i) => i.names.some((n) => n.includes('gc:two')));
    const oneId = one?.id ?? '';
    const twoId = two?.id ?? '';
    assert.ok(oneId.startsWith('sha256:') && twoId, JSON.stringify(images));
    assert.notEqual(oneId, twoId, 'two imports are two images');
    const c = await engine.containers.create(
      { image: 'gc:one' },
      { command: ['sleep', '1000'], network: 'none' },
    );
    await engine.containers.start(c.id);
    assert.equal(await rt.imagePresent('gc:one'), true);
    await assert.rejects(rt.removeImage(oneId), /is used by container/);
    await rt.removeImage(twoId);
    assert.equal(await rt.imagePresent('gc:alias'), false);
    assert.equal(await rt.imagePresent('gc:two'), false);
    // The running container's figures come from the cgroups its process is in.
    const u = await rt.containerUsage(c.id);
    assert.ok(u && u.workingSetBytes > 0, JSON.stringify(u));
    await engine.containers.rm(c.id, { force: true });
  });
});
