import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RunResult } from '../../core/exec.js';
import { NetpolBackend, type Runner } from './nft-backend.js';

/** A runner answering every nft call with `code`, recording the scripts it was given. */
function fakeNft(code: number) {
  const scripts: string[] = [];
  const runner: Runner = async (_file, _args, opts) => {
    scripts.push(String(opts?.input ?? ''));
    return { code, signal: null, stdout: '', stderr: code ? 'Error: syntax error' : '' } satisfies RunResult;
  };
  return { runner, scripts };
}

describe('nft backend', () => {
  test('concatenated interval sets are used where a probe table with one is accepted, asked once', async () => {
    const nft = fakeNft(0);
    const backend = new NetpolBackend(nft.runner);
    assert.equal(await backend.setShape(), 'concatenated');
    assert.equal(await backend.setShape(), 'concatenated');
    assert.equal(nft.scripts.length, 1);
    // The probe adds and deletes its table in one transaction: nothing is left behind.
    assert.match(
      nft.scripts[0]!,
      /flags interval;[\s\S]*\. tcp \. 80-81[\s\S]*delete table inet berth-netpol-probe/,
    );
  });

  test('a line per port where nft or the kernel refuse the probe', async () => {
    assert.equal(await new NetpolBackend(fakeNft(1).runner).setShape(), 'per-port');
  });
});
