// When the csrcleaner removes a CertificateSigningRequest: upstream's ages per state, and at
// once when the certificate issued for it has expired.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selfSignedCertificate } from '../../../test/helpers/certificates.js';
import type { KubeObject } from '../client/kube-client.js';
import { cleanupDeadline, decidedTtlMs, pendingTtlMs } from './csr-cleaner.js';

const created = '2026-01-01T00:00:00Z';
const decided = '2026-01-01T00:10:00Z';
const csr = (status: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name: 'r', creationTimestamp: created },
  spec: {},
  status,
});
const cond = (type: string) => ({ type, status: 'True', lastUpdateTime: decided });

/** A certificate valid until `notAfter`, base64 as status.certificate holds it. */
const certificate = (notAfter: Date) => Buffer.from(selfSignedCertificate(notAfter)).toString('base64');

test('a pending request goes a day after it was made', () => {
  assert.equal(cleanupDeadline(csr()), Date.parse(created) + pendingTtlMs);
});

test('denied and failed requests go an hour after the condition', () => {
  assert.equal(cleanupDeadline(csr({ conditions: [cond('Denied')] })), Date.parse(decided) + decidedTtlMs);
  assert.equal(
    cleanupDeadline(csr({ conditions: [cond('Approved'), cond('Failed')] })),
    Date.parse(decided) + decidedTtlMs,
  );
});

test('an approved request stays until it is issued, then goes an hour after approval or once its certificate expires', () => {
  assert.equal(cleanupDeadline(csr({ conditions: [cond('Approved')] })), undefined);
  const later = new Date(Date.parse(decided) + 10 * decidedTtlMs);
  assert.equal(
    cleanupDeadline(csr({ conditions: [cond('Approved')], certificate: certificate(later) })),
    Date.parse(decided) + decidedTtlMs,
  );
  const soon = new Date(Math.floor(Date.parse(decided) / 1000) * 1000 + 60_000);
  assert.equal(
    cleanupDeadline(csr({ conditions: [cond('Approved')], certificate: certificate(soon) })),
    soon.getTime(),
    'an expiry before the hour is due first',
  );
});
