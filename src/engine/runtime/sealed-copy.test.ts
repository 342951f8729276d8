import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { run } from '../../core/exec.js';
import { sealedRuntimePath } from './sealed-copy.js';

/** The memfd's seals as Perl's fcntl(F_GET_SEALS) reads them through `path`. */
async function sealsOf(path: string): Promise<number> {
  const r = await run('perl', [
    '-e',
    'open(my $f, "<", $ARGV[0]) or die "$!"; print fcntl($f, 1034, 0)',
    path,
  ]);
  return Number(r.stdout);
}

describe('sealedRuntimePath', { skip: !existsSync('/usr/bin/perl') && 'no Perl on this machine' }, () => {
  // Copies of coreutils' true and false stand in for the runtime: the test never writes
  // through a path that might be the source itself.
  const dir = mkdtempSync(join(tmpdir(), 'berth-sealed-'));
  const binary = join(dir, 'runtime');
  copyFileSync('/bin/true', binary);
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the binary from a memfd with the seals runc accepts, which nothing can write', async () => {
    const path = await sealedRuntimePath(binary);
    assert.match(path, new RegExp(`^/proc/${process.pid}/fd/\\d+$`));
    assert.deepEqual(readFileSync(path), readFileSync(binary));
    // F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE, runc's RUNC_MEMFD_SEALS exactly.
    assert.equal(await sealsOf(path), 15);
    const write = await run(
      'perl',
      [
        '-e',
        'open(my $f, ">>", $ARGV[0]) or die "open: $!"; print $f "x"; close($f) or die "close: $!"',
        path,
      ],
      {
        check: false,
      },
    );
    assert.notEqual(write.code, 0);
    assert.deepEqual(readFileSync(path), readFileSync(binary));
    assert.equal((await run(path, [], { check: false })).code, 0);
    assert.equal(await sealedRuntimePath(binary), path, 'one copy per binary');
  });

  it('makes a new copy when the binary changes on disk (an upgrade)', async () => {
    const first = await sealedRuntimePath(binary);
    copyFileSync('/bin/false', binary);
    utimesSync(binary, new Date(), new Date(Date.now() + 5000));
    const second = await sealedRuntimePath(binary);
    assert.notEqual(second, first);
    assert.equal((await run(second, [], { check: false })).code, 1);
  });

  it('gives back a binary it cannot read as it is, for the runtime to fail with its own error', async () => {
    const missing = join(dir, 'missing');
    assert.equal(await sealedRuntimePath(missing), missing);
  });
});
