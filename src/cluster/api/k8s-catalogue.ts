/**
 * The built-in types' catalogue that the build derives from the installed Kubernetes client's
 * generated models (scripts/k8s-schema.mjs): every field of every built-in type with its type
 * and, where Kubernetes documents it, its description. Read once from dist/k8s-schema.json;
 * absent (sources never built), the hand-written table in schema.ts stands in.
 */
import { readFileSync } from 'node:fs';

export interface CatalogueType {
  description?: string;
  required?: string[];
  /** Field name -> [type as schema.ts reads it, description]. */
  fields: Record<string, [string, string?]>;
  /** Field name -> its OpenAPI extensions (list type and keys, patch strategy and merge key). */
  ext?: Record<string, Record<string, unknown>>;
  /** Upstream's definition name (`io.k8s.api.apps.v1.Deployment`), where the build found it. */
  name?: string;
}

export interface Catalogue {
  source: string;
  types: Record<string, CatalogueType>;
}

// Beside the bundle (dist/), or in dist/ when run from the sources.
const candidates = ['./k8s-schema.json', '../../../dist/k8s-schema.json'];

function load(): Catalogue | null {
  for (const rel of candidates) {
    let text: string;
    try {
      text = readFileSync(new URL(rel, import.meta.url), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    return JSON.parse(text) as Catalogue;
  }
  return null;
}

// The file never changes while the process runs: read it on first use only.
let loaded: { value: Catalogue | null } | undefined;

export function catalogue(): Catalogue | null {
  loaded ??= { value: load() };
  return loaded.value;
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * The catalogue's name of a kind's model: `V1Deployment`, or the group-qualified name the
 * client gives kinds whose names repeat across groups (`CoreV1Event`, `EventsV1Event`).
 */
export function modelName(c: Catalogue, group: string, version: string, kind: string): string | undefined {
  const v = cap(version) + kind;
  const qualified = cap(group ? (group.split('.')[0] ?? '') : 'core') + v;
  if (c.types[qualified]) return qualified;
  return c.types[v] ? v : undefined;
}

/** `CoreV1Event` -> `io.k8s.api.core.v1.Event`, the shape of upstream's definition names. */
export function definitionName(model: string): string {
  if (model === 'IntOrString') return 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
  const known = catalogue()?.types[model]?.name;
  if (known) return known;
  const m = /^([A-Z][a-z]+)?(V\d+(?:(?:alpha|beta)\d+)?)(.+)$/.exec(model);
  if (!m) return `io.k8s.berth.${model}`;
  return `io.k8s.api.${(m[1] ?? 'k8s').toLowerCase()}.${m[2]?.toLowerCase()}.${m[3]}`;
}
