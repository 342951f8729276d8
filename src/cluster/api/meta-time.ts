/**
 * Kubernetes' `metav1.Time` as it travels in JSON: RFC 3339 in UTC to the second
 * (`2026-11-30T20:31:05Z`). Clients parse the fraction-less form; upstream's servers and
 * controllers never write milliseconds in these fields.
 */

/** The time `at` (epoch milliseconds or a Date; now when left out) as a Kubernetes timestamp. */
export function metaTime(at: number | Date = Date.now()): string {
  return new Date(at).toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * `metav1.MicroTime` (a Lease's renewTime, an audit event's timestamps): RFC 3339 with six
 * fraction digits; JavaScript keeps milliseconds, so the last three are zeros.
 */
export function metaMicroTime(at: number | Date = Date.now()): string {
  return new Date(at).toISOString().replace('Z', '000Z');
}
