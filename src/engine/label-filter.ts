/**
 * Docker's `label` filter, as every list, prune and event stream reads it: `KEY` (the object
 * has the label) or `KEY=VALUE` (it has it with that value). Own keys only, so a filter named
 * like an Object.prototype member (`constructor`, `toString`) matches no unlabelled object.
 */
export function labelMatches(labels: Record<string, string> | null | undefined, value: string): boolean {
  const i = value.indexOf('=');
  const key = i < 0 ? value : value.slice(0, i);
  if (!labels || !Object.hasOwn(labels, key)) return false;
  return i < 0 || labels[key] === value.slice(i + 1);
}
