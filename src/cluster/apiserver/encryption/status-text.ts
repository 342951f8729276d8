import type { RotationReport } from './secrets-encryption.js';

/** The text `berth secrets-encrypt status|rotate` prints for a report from the server. */
export function formatEncryptionStatus(r: Partial<RotationReport>): string {
  const lines = [`Encryption: ${r.enabled ? 'enabled' : 'disabled'}`];
  if (r.configPath) lines.push(`Configuration: ${r.configPath}`);
  if (r.activeKey) lines.push(`Active key: ${r.activeKey}`);
  if (r.keys?.length) lines.push(`Keys: ${r.keys.join(', ')}`);
  if (r.rewritten !== undefined) lines.push(`Secrets rewritten: ${r.rewritten}`);
  const counts = Object.entries(r.secrets ?? {});
  lines.push(counts.length ? 'Secrets by key:' : 'Secrets by key: none stored');
  for (const [k, n] of counts) lines.push(`  ${k}: ${n}`);
  return `${lines.join('\n')}\n`;
}
