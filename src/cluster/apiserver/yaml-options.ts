/**
 * How request bodies in YAML are parsed. The yaml package's unique-key check compares every
 * key of a map with every other (a 2.6 MB ConfigMap took 38 s instead of 1 s), so it is off:
 * a repeated key keeps its last value, as JSON.parse and upstream's non-strict decoding do.
 * Repeated keys are found instead in one pass with a set per map, for fieldValidation to
 * refuse (Strict) or warn of (Warn) as kube-apiserver does.
 */
import { isMap, isScalar, LineCounter, type ParseOptions, parseDocument, visit } from 'yaml';

export const yamlOptions = { uniqueKeys: false } satisfies ParseOptions;

/** Parses one YAML document; each key repeated in a map is described in `duplicates`. */
export function parseYaml(text: string): { value: unknown; duplicates: string[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { ...yamlOptions, lineCounter });
  if (doc.errors[0]) throw doc.errors[0];
  const duplicates: string[] = [];
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (seen.has(key)) {
          const line = lineCounter.linePos(pair.key.range?.[0] ?? 0).line;
          duplicates.push(`line ${line}: key "${key}" already set in map`);
        }
        seen.add(key);
      }
    },
  });
  return { value: doc.toJS(), duplicates };
}
