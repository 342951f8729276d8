/**
 * Kubernetes' IntOrString counts (`maxUnavailable: 1`, `minAvailable: "50%"`): a whole number
 * or a percentage of a total, rounded as the caller says.
 */

/** Why a value is not a non-negative count or percentage (at most 100%), or undefined when it is. */
export function intOrPercentProblem(v: unknown): string | undefined {
  if (typeof v === 'number')
    return Number.isInteger(v) && v >= 0 ? undefined : 'must be greater than or equal to 0';
  if (typeof v === 'string') {
    const m = /^(\d+)%$/.exec(v);
    if (!m)
      return "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";
    return Number(m[1]) > 100 ? 'must not be greater than 100%' : undefined;
  }
  return 'must be an integer or percentage';
}

/** Whether the value is a percentage (and so depends on a total). */
export const isPercent = (v: unknown): boolean => typeof v === 'string' && v.endsWith('%');

/** The count the value stands for out of `total`; percentages rounded up or down. */
export function scaledValue(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  const pct = Number(String(v).replace(/%$/, ''));
  const exact = (pct * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}
