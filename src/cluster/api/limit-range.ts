/** The LimitRange item shape and upstream's defaulting of it (applied on create, and when read). */

type Amounts = Record<string, string>;

/** One item of a LimitRange's spec.limits. */
export interface LimitRangeItem {
  type?: string;
  min?: Amounts;
  max?: Amounts;
  default?: Amounts;
  defaultRequest?: Amounts;
  maxLimitRequestRatio?: Amounts;
}

/**
 * Upstream's defaulting of a LimitRange item: a Container item's missing `default` is its
 * `max`, and its missing `defaultRequest` is its `default`, then its `min`.
 */
export function defaultLimitRangeItem(item: LimitRangeItem): void {
  if (item.type !== 'Container') return;
  for (const [k, v] of Object.entries(item.max ?? {})) {
    item.default ??= {};
    item.default[k] ??= v;
  }
  for (const [k, v] of Object.entries({ ...(item.min ?? {}), ...(item.default ?? {}) })) {
    item.defaultRequest ??= {};
    item.defaultRequest[k] ??= v;
  }
}
