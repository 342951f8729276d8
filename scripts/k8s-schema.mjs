// Derives a catalogue of the built-in Kubernetes types from the installed
// @kubernetes/client-node, whose models are generated from Kubernetes' own OpenAPI document:
// each model's attribute map gives every field's type, its declaration file gives the type's
// and each field's description and which fields are required. build.mjs writes the result to
// dist/k8s-schema.json, which the API server reads for strict field validation and the OpenAPI
// documents `kubectl explain` reads. Nothing of it is kept in the repository.
//
// A field's type is written as src/cluster/api/schema.ts reads it: `string`, `integer`,
// `number`, `boolean`, `map` (string values), `object` (free-form), `IntOrString`, a model's
// name, `[]T` for a list of T or `{}T` for a map of T.

import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

function typeOf(t, format) {
  if (t.startsWith('Array<') && t.endsWith('>')) return `[]${typeOf(t.slice(6, -1), format)}`;
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(t);
  if (map) return map[1] === 'string' ? 'map' : `{}${typeOf(map[1], format)}`;
  if (t === 'number') return format === 'double' || format === 'float' ? 'number' : 'integer';
  if (t === 'Date' || t === 'V1MicroTime') return 'string';
  if (t === 'any' || t === 'object') return 'object';
  return t;
}

// The description comments of a declaration file: the class's, then one per field.
function descriptions(dts) {
  const out = { fields: {}, required: [] };
  const cls = /\/\*\*\n\* ([^\n]*)\n\*\/\nexport declare class/.exec(dts);
  if (cls) out.description = unquote(cls[1]);
  for (const m of dts.matchAll(/(?:\/\*\*\n\s*\* ([^\n]*)\n\s*\*\/\n)?\s*'([^']+)'(\?)?:/g)) {
    if (m[1]) out.fields[m[2]] = unquote(m[1]);
    if (!m[3]) out.required.push(m[2]);
  }
  return out;
}

const unquote = (s) => s.replace(/\\(['"])/g, '$1');

/** The catalogue: `{ source, types: { Model: { description, required, fields: { f: [type, description] } } } }`. */
export async function generate() {
  const pkgJson = require.resolve('@kubernetes/client-node/package.json');
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8'));
  const models = join(dirname(pkgJson), 'dist', 'gen', 'models');
  const types = {};
  for (const file of readdirSync(models).sort()) {
    if (!file.endsWith('.js') || file === 'all.js' || file === 'ObjectSerializer.js') continue;
    const mod = await import(pathToFileURL(join(models, file)).href);
    const name = file.slice(0, -3);
    const cls = mod[name];
    if (!cls || !Array.isArray(cls.attributeTypeMap)) continue;
    const docs = descriptions(readFileSync(join(models, `${name}.d.ts`), 'utf8'));
    const fields = {};
    for (const a of cls.attributeTypeMap)
      fields[a.baseName] =
        docs.fields[a.name] === undefined
          ? [typeOf(a.type, a.format)]
          : [typeOf(a.type, a.format), docs.fields[a.name]];
    types[name] = {
      ...(docs.description ? { description: docs.description } : {}),
      ...(docs.required.length ? { required: docs.required } : {}),
      fields,
    };
  }
  return { source: `@kubernetes/client-node ${pkg.version}`, types };
}
