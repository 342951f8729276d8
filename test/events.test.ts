/**
 * `berth events` through bin/berth: the journal as Docker prints it (default lines, JSON,
 * templates, filters), and following until interrupted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { importBusybox } from './helpers/busybox-image.js';
import { berthBin, isRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

describe('berth events', { skip: !isRoot && 'needs root' }, () => {
  let box: Sandbox;
  const ok = (args: string[]) => box.ok(args);

  before(async () => {
    box = await sandbox(undefined);
    await importBusybox(box, 'bb:events');
  });
  after(() => box.cleanup());

  it('lists what happened between --since and --until, in Docker shapes', async () => {
    const since = String(Date.now() / 1000);
    const name = box.name('ev');
    await ok(['run', '--rm', '--network', 'none', '--name', name, 'bb:events', 'true']);
    await ok(['tag', 'bb:events', 'bb:again']);
    const until = String(Date.now() / 1000 + 1);
    const json = (await ok(['events', '--since', since, '--until', until, '--format', 'json']))
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { Type: string; Action: string; Actor: { Attributes: Record<string, string> } },
      );
    assert.deepEqual(
      json.map((e) => `${e.Type} ${e.Action}`),
      ['container create', 'container start', 'container die', 'container destroy', 'image tag'],
    );
    assert.equal(json[0]!.Actor.Attributes.name, name);
    const lines = await ok(['events', '--since', since, '--until', until, '--filter', 'event=die']);
    assert.match(lines, /^\S+Z container die [0-9a-f]{64} \(exitCode=0, image=\S+, name=\S+\)\n$/);
    const template = await ok([
      'events',
      '--since',
      since,
      '--until',
      until,
      '-f',
      'type=image',
      '--format',
      '{{.Action}} {{.Actor.Attributes.name}}',
    ]);
    assert.equal(template, 'tag bb:again\n');
  });

  it('refuses an unknown filter, naming it', async () => {
    const r = await box.berth(['events', '--until', '0s', '--filter', 'colour=red']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /Invalid filter 'colour'/);
  });

  it('follows new events until interrupted, then exits cleanly', async () => {
    const since = String(Date.now() / 1000);
    const child = box.spawn(
      process.execPath,
      [
        '--',
        berthBin,
        '--root',
        box.root,
        '--runroot',
        box.runroot,
        'events',
        '--since',
        since,
        '-f',
        'type=volume',
        '--format',
        '{{.Action}} {{.Actor.ID}}',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const volume = box.name('vol');
    await ok(['volume', 'create', volume]);
    let out = '';
    // The first line, or the follower's end if it dies without one (then the assertion says so).
    await Promise.race([
      exited,
      new Promise<void>((resolve) =>
        child.stdout!.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes('\n')) resolve();
        }),
      ),
    ]);
    assert.equal(out, `create ${volume}\n`);
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  });
});
