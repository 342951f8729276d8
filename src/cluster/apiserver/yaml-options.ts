/**
 * How request bodies in YAML are parsed. The yaml package's unique-key check compares every
 * key of a map with every other (a 2.6 MB ConfigMap took 38 s instead of 1 s), so it is off:
 * a repeated key keeps its last value, as JSON.parse and upstream's non-strict decoding do.
 */
import type { ParseOptions } from 'yaml';

export const yamlOptions = { uniqueKeys: false } satisfies ParseOptions;
