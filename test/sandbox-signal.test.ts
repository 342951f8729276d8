/**
 * The sandbox helper cleans up after an interrupted run: a process that made a sandbox with a
 * network namespace and a mount, then got SIGTERM (as `timeout` or the test runner sends it),
 * leaves neither behind and still ends by that signal.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isRoot } from './helpers/sandbox.js';

test('a run ended by SIGTERM cleans up its sandboxes first', { skip: !isRoot && 'needs root' }, async () => {
  const src = `
    const { sandbox } = await import(${JSON.stringify(new URL('./helpers/sandbox.ts', import.meta.url).href)});
    const { run } = await import(${JSON.stringify(new URL('../src/core/exec.ts', import.meta.url).href)});
    const box = await sandbox(undefined, { netns: true });
    await run('mount', ['-t', 'tmpfs', 'berth-signal-test', box.root]);
    process.stdout.write(JSON.stringify({ dir: box.dir, netns: box.netns }) + '\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', src], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const made = await new Promise<{ dir: string; netns: string }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out));
    });
    child.once('exit', (code) => reject(new Error(`the child exited (${code}) before making its sandbox`)));
  });
  assert.ok(existsSync(`/run/netns/${made.netns}`));
  const ended = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_c, sig) => resolve(sig)),
  );
  child.kill('SIGTERM');
  assert.equal(await ended, 'SIGTERM');
  assert.ok(!existsSync(`/run/netns/${made.netns}`), 'the network namespace is gone');
  assert.ok(!existsSync(made.dir), 'the folder is gone');
  assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(made.dir));
});
