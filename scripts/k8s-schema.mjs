// Derives a catalogue of the built-in Kubernetes types from the installed
// @kubernetes/client-node, whose models are generated from Kubernetes' own OpenAPI document:
// each model's attribute map gives every field's type, its declaration file gives the type's
// and each field's description and which fields are required. build.mjs writes the result to
// dist/k8s-schema.json, which the API server reads for strict field validation and the OpenAPI
// documents `kubectl explain` reads. Nothing of it is kept in the repository.
// The client's models drop the description of a field whose type is another model
// (`Container.resources`); those come from the table of Kubernetes' generated.proto comments
// kept in src/cluster/api/k8s-proto.json (scripts/k8s-proto-table.mjs).
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

/**
 * The catalogue: `{ source, types: { Model: { description, required, fields: { f: [type,
 * description] }, ext: { f: { 'x-kubernetes-list-type': ... } }, name: upstream's definition
 * name } } }`.
 */
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
  const proto = JSON.parse(
    readFileSync(new URL('../src/cluster/api/k8s-proto.json', import.meta.url), 'utf8'),
  );
  addRefDescriptions(types, proto);
  return { source: `@kubernetes/client-node ${pkg.version}; ${proto.source}`, types };
}

const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);

/** `apps.v1.Deployment` -> `io.k8s.api.apps.v1.Deployment`, as Kubernetes' OpenAPI names definitions. */
function upstreamName(group, short) {
  if (group === 'meta') return `io.k8s.apimachinery.pkg.apis.${short}`;
  if (group === 'apiextensions') return `io.k8s.apiextensions-apiserver.pkg.apis.${short}`;
  return `io.k8s.api.${short}`;
}

/**
 * Fills in the descriptions the client's models lack from the proto table: message
 * `core.v1.Container` is model `CoreV1Container` (names repeated across groups are
 * qualified) or `V1Container`. An inlined message's fields (Go's embedded structs, such as
 * EphemeralContainerCommon) are described where they are inlined.
 */
function addRefDescriptions(types, proto) {
  const docsOf = (name) => {
    const msg = proto.messages[name];
    if (!msg) return {};
    const inlined = Object.values(msg.f)
      .filter((f) => (f[2] ?? '').split(' ').includes('i'))
      .map((f) => docsOf(f[1]));
    return Object.assign({}, ...inlined, msg.d);
  };
  for (const name of Object.keys(proto.messages)) {
    const m = /^(\w+)\.(v\d\w*)\.(\w+)$/.exec(name);
    if (!m) continue;
    const [, group, version, kind] = m;
    const model = [`${cap(group)}${cap(version)}${kind}`, `${cap(version)}${kind}`].find((t) => types[t]);
    if (!model) continue;
    const fields = types[model].fields;
    // Upstream's definition name, when the message's fields are the model's (not a namesake).
    const own = Object.entries(proto.messages[name].f).filter(
      ([, f]) => !(f[2] ?? '').split(' ').includes('i'),
    );
    if (own.every(([f]) => fields[f])) types[model].name = upstreamName(group, name);
    for (const [f, d] of Object.entries(docsOf(name))) if (fields[f]?.length === 1) fields[f].push(d);
    const ext = extensionsOf(name);
    for (const f of Object.keys(ext)) if (!fields[f]) delete ext[f];
    if (Object.keys(ext).length) types[model].ext = ext;
  }

  /** The OpenAPI extensions of a message's fields (its inlined messages' too): list types, patch strategies. */
  function extensionsOf(name) {
    const msg = proto.messages[name];
    if (!msg) return {};
    const out = {};
    for (const [f, [, type, flags = '']] of Object.entries(msg.f)) {
      const fl = flags.split(' ');
      if (fl.includes('i')) {
        Object.assign(out, extensionsOf(type));
        continue;
      }
      const ext = {};
      const value = (p) => fl.find((x) => x.startsWith(p))?.slice(p.length);
      const keys = value('m:');
      const listType = value('l:');
      if (listType) ext['x-kubernetes-list-type'] = listType;
      if (listType === 'map' && keys) ext['x-kubernetes-list-map-keys'] = keys.split(',');
      if (fl.includes('a')) ext['x-kubernetes-map-type'] = 'atomic';
      if (value('pk:')) ext['x-kubernetes-patch-merge-key'] = value('pk:');
      if (value('ps:')) ext['x-kubernetes-patch-strategy'] = value('ps:');
      if (Object.keys(ext).length) out[f] = ext;
    }
    return out;
  }
}
