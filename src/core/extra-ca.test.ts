import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { rootCertificates } from 'node:tls';
import { tempDir } from '../../test/helpers/temp-dir.js';
import { defaultCas } from './extra-ca.js';
import { setLogSink } from './log.js';

const dir = tempDir('berth-extra-ca-');

test("without NODE_EXTRA_CA_CERTS a client keeps Node's defaults", () => {
  assert.equal(defaultCas({}), undefined);
  assert.equal(defaultCas({ NODE_EXTRA_CA_CERTS: '' }), undefined);
});

test("with NODE_EXTRA_CA_CERTS a client trusts Node's CAs and the file's", () => {
  const file = join(dir, 'extra.pem');
  writeFileSync(file, '-----BEGIN CERTIFICATE-----\nnot parsed here\n-----END CERTIFICATE-----\n');
  const cas = defaultCas({ NODE_EXTRA_CA_CERTS: file });
  assert.ok(cas);
  assert.deepEqual(cas.slice(0, -1), [...rootCertificates]);
  assert.match(String(cas.at(-1)), /not parsed here/);
});

test('a file that cannot be read is left out with a warning, as Node does', () => {
  const lines: string[] = [];
  const prev = setLogSink((l) => lines.push(l));
  try {
    assert.equal(defaultCas({ NODE_EXTRA_CA_CERTS: join(dir, 'missing.pem') }), undefined);
  } finally {
    setLogSink(prev);
  }
  assert.match(lines.join('\n'), /NODE_EXTRA_CA_CERTS.*missing\.pem/);
});
