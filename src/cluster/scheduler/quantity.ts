/** Kubernetes resource quantities as numbers: CPU in millicores, everything else in units (bytes for memory). */
const SUFFIX: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  m: 1e-3,
  u: 1e-6,
  n: 1e-9,
  '': 1,
};

export function parseQuantity(q: string | number | undefined): number {
  if (q === undefined || q === null) return 0;
  if (typeof q === 'number') return q;
  const m = /^([+-]?\d+(?:\.\d+)?)(?:[eE]([+-]?\d+))?([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return 0;
  const base = Number(m[1]) * (m[2] ? 10 ** Number(m[2]) : 1);
  return base * (SUFFIX[m[3] ?? ''] ?? 1);
}

/** CPU in millicores. */
export function milliCpu(q: string | number | undefined): number {
  return Math.round(parseQuantity(q) * 1000);
}

/**
 * A quantity as Kubernetes prints it: whole numbers plain, fractions in millis (`500m`),
 * and whole multiples of a binary unit with the largest one (`2Gi`, `512Mi`), as a
 * canonical Quantity reads for memory and storage.
 */
export function formatQuantity(value: number): string {
  if (!Number.isInteger(value)) return `${Math.round(value * 1000)}m`;
  if (value === 0) return '0';
  for (const unit of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const size = SUFFIX[unit] as number;
    if (value >= size && value % size === 0) return `${value / size}${unit}`;
  }
  return String(value);
}
