import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { podOciRuntime } from './pod-oci-runtime.js';

test('pods run on crun where it is installed, but not with a Bidirectional mount', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-crun-'));
  try {
    writeFileSync(join(dir, 'crun'), '#!/bin/sh\n');
    chmodSync(join(dir, 'crun'), 0o755);
    assert.equal(podOciRuntime([], dir), 'crun');
    assert.equal(podOciRuntime([undefined, 'rslave'], dir), 'crun');
    // Its mounts must reach the host's: runc, the engine's default.
    assert.equal(podOciRuntime(['rslave', 'rshared'], dir), '');
    assert.equal(podOciRuntime([], join(dir, 'none')), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
