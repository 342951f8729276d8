// The node's key pairs on disk: one file holding certificate and key, read back whole; the
// layout from before rotation (client.crt with node.key) still read; a Node's addresses as SANs.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { addressSans, readPair, writePair } from './node-certificates.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-node-certs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const block = (label: string, body: string) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;

test('a pair is written as one 0600 file and read back; nothing else is left beside it', () => {
  const pair = { cert: block('CERTIFICATE', 'Y2VydA=='), key: block('RSA PRIVATE KEY', 'a2V5') };
  writePair(dir, 'serving', pair);
  assert.deepEqual(readPair(dir, 'serving'), pair);
  assert.equal(statSync(join(dir, 'serving.pem')).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['serving.pem']);
  assert.equal(readPair(dir, 'client'), undefined);
});

test('a data dir from before rotation (client.crt and node.key) is read', () => {
  const old = mkdtempSync(join(dir, 'old-'));
  writeFileSync(join(old, 'client.crt'), block('CERTIFICATE', 'b2xk'));
  writeFileSync(join(old, 'node.key'), block('RSA PRIVATE KEY', 'a2V5'));
  assert.deepEqual(readPair(old, 'client'), {
    cert: block('CERTIFICATE', 'b2xk'),
    key: block('RSA PRIVATE KEY', 'a2V5'),
  });
});

test("a Node's addresses become DNS and IP SANs, each once", () => {
  assert.deepEqual(
    addressSans([
      { type: 'InternalIP', address: '192.0.2.10' },
      { type: 'Hostname', address: 'n1' },
      { type: 'ExternalIP', address: '192.0.2.10' },
      { type: 'InternalDNS', address: 'n1.example.com' },
    ]),
    { dns: ['n1', 'n1.example.com'], ips: ['192.0.2.10'] },
  );
});
