// Regenerates src/cluster/api/k8s-proto.json, the table of the built-in Kubernetes types that
// the API server reads for what its other schema source (the client's models, k8s-schema.mjs)
// lacks: protobuf field numbers (to decode any built-in kind kubectl sends as protobuf), the
// list and map types of server-side apply (x-kubernetes-list-type / list-map-keys and the
// patch merge keys, from the `+listType`, `+listMapKey`, `+patchMergeKey`, `+patchStrategy`,
// `+mapType` and `+structType` markers) and the descriptions of fields whose type is another
// message (the client's models drop those; `kubectl explain` shows them).
//
// Sources, both published with every Kubernetes release: each API package's generated.proto
// (field numbers, types, comments with the markers) and its Go types (the JSON name, whether
// the field is a pointer, so that a zero sent on the wire is kept, and whether it is inlined).
// The table is committed, so the build needs no network; to regenerate it for another release:
//
//   for r in api apimachinery apiextensions-apiserver; do
//     git clone -q --depth 1 --branch v0.32.9 https://github.com/kubernetes/$r /tmp/k8s/$r
//   done
//   node scripts/k8s-proto-table.mjs /tmp/k8s v0.32.9 > src/cluster/api/k8s-proto.json
//
// Table shape: `{ source, packages: { "apps/v1": "apps.v1" }, messages: { "apps.v1.Deployment":
// { "f": { jsonName: [number, type, flags?] }, "d"?: { jsonName: description }, "a"?: 1 } } }`.
// A type is `string`, `int`, `bool`, `bytes`, `double`, `float`, a message's short name, `[]T`
// or `{}T` (a map from strings). Flags: `z` a zero on the wire is a value (pointer or no
// omitempty), `i` inlined in JSON (Go's embedded struct), `m:k1,k2` a list map with those
// keys, `s` a set, `a` atomic (a map or struct owned whole), `w` a message that wraps a
// list in protobuf but is the list itself in JSON, `=V` a scalar's default (JSON), `l:T` the
// stated list type, `ps:S` the patch strategy, `pk:K` the patch merge key. `"a": 1` on a
// message: structType=atomic.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const [root, tag] = process.argv.slice(2);
if (!root || !tag) {
  process.stderr.write(
    'usage: node scripts/k8s-proto-table.mjs DIR TAG (DIR holds api, apimachinery, ...)\n',
  );
  process.exit(2);
}

/** Package prefixes shortened in the table: `k8s.io.api.core.v1` -> `core.v1`. */
const prefixes = [
  'k8s.io.api.',
  'k8s.io.apimachinery.pkg.apis.',
  'k8s.io.apimachinery.pkg.api.',
  'k8s.io.apimachinery.pkg.util.',
  'k8s.io.apimachinery.pkg.',
  'k8s.io.apiextensions_apiserver.pkg.apis.',
];
const short = (full) => {
  const p = prefixes.find((x) => full.startsWith(x));
  return p ? full.slice(p.length) : full;
};

function walk(dir, out = []) {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** Comment lines -> [description, markers]; the text after `---` is private, as upstream's generators read it. */
function comment(lines) {
  const markers = [];
  const text = [];
  for (const l of lines) {
    if (l.startsWith('+')) markers.push(l.slice(1));
    else if (l === '---') break;
    else text.push(l);
  }
  // Lines of a paragraph join with spaces, paragraphs with a blank line (as the OpenAPI document does).
  const paras = text
    .join('\n')
    .split(/\n\s*\n/)
    .map((p) => p.trim().replace(/\n/g, ' '))
    .filter(Boolean);
  return [paras.join('\n\n'), markers];
}

const markerValues = (markers, name) =>
  markers.filter((m) => m.startsWith(`${name}=`)).map((m) => m.slice(name.length + 1));

/** generated.proto -> { pkg, messages: [{ name, markers, fields: [{ no, name, type, repeated, markers, doc }] }] } */
function parseProto(text) {
  const pkg = /^package ([\w.]+);/m.exec(text)[1];
  const messages = [];
  let pending = [];
  let cur = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('//')) {
      pending.push(line.replace(/^\/\/ ?/, ''));
      continue;
    }
    let m = /^message (\w+) \{$/.exec(line);
    if (m) {
      cur = { name: m[1], markers: comment(pending)[1], fields: [] };
      messages.push(cur);
    } else if (line === '}') cur = null;
    else if (cur) {
      m = /^(optional|repeated) ([\w.]+) (\w+) = (\d+);$/.exec(line);
      const mm = /^map<string, ([\w.]+)> (\w+) = (\d+);$/.exec(line);
      if (m || mm) {
        const [doc, markers] = comment(pending);
        cur.fields.push(
          m
            ? { no: +m[4], name: m[3], type: m[2], repeated: m[1] === 'repeated', map: false, doc, markers }
            : { no: +mm[3], name: mm[2], type: mm[1], repeated: false, map: true, doc, markers },
        );
      }
    }
    pending = [];
  }
  return { pkg, messages };
}

/**
 * The Go structs of one package: `Struct.protoName` -> { json, omitempty, pointer, inline }.
 * Fields are read from their tags: `Name *Type \`json:"n,omitempty" protobuf:"varint,1,opt,name=n"\``.
 */
function goFields(dir) {
  const out = new Map();
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.go') || f.endsWith('_test.go') || f.startsWith('zz_') || f === 'generated.pb.go')
      continue;
    let struct = null;
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const s = /^type (\w+) struct \{/.exec(line);
      if (s) {
        struct = s[1];
        continue;
      }
      if (line.startsWith('}')) struct = null;
      if (!struct) continue;
      const m = /^\s*(?:(\w+)\s+)?([^\s`]+)\s+`([^`]*)`/.exec(line);
      if (!m) continue;
      const proto = /protobuf:"[^"]*name=(\w+)/.exec(m[3]);
      if (!proto) continue;
      const json = /json:"([^"]*)"/.exec(m[3]);
      const [jsonName, ...opts] = (json ? json[1] : '').split(',');
      out.set(`${struct}.${proto[1]}`, {
        json: jsonName || (m[1] ?? m[2].replace(/^\*/, '').split('.').pop()),
        omitempty: opts.includes('omitempty'),
        pointer: m[2].startsWith('*'),
        inline: opts.includes('inline'),
      });
    }
  }
  return out;
}

/** A marker value that is a JSON scalar without spaces (not Go's `ref(Constant)`). */
const isJson = (s) => {
  try {
    JSON.parse(s);
    return !/\s/.test(s);
  } catch (e) {
    if (e instanceof SyntaxError) return false;
    throw e;
  }
};

const scalars = {
  string: 'string',
  int32: 'int',
  int64: 'int',
  bool: 'bool',
  bytes: 'bytes',
  double: 'double',
  float: 'float',
};

const packages = {};
const messages = {};
// apimachinery's test group and fixtures are no API a server serves.
const protos = walk(root).filter(
  (p) => p.endsWith('/generated.proto') && !/\/(testdata|testapigroup|testing)\//.test(p),
);
for (const file of protos) {
  const dir = file.slice(0, -'/generated.proto'.length);
  const { pkg, messages: msgs } = parseProto(readFileSync(file, 'utf8'));
  const go = goFields(dir);
  // The group: register.go's GroupName constant, else doc.go's +groupName marker.
  const read = (f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '');
  const group =
    /GroupName\s*=\s*"([^"]*)"/.exec(read('register.go'))?.[1] ??
    /\+groupName=([\w.-]*)/.exec(read('doc.go'))?.[1];
  const version = relative(root, dir).split('/').pop();
  if (group !== undefined && /^v\d/.test(version))
    packages[group ? `${group}/${version}` : version] = short(pkg);
  for (const msg of msgs) {
    const f = {};
    const d = {};
    for (const field of msg.fields) {
      const g = go.get(`${msg.name}.${field.name}`);
      const name = g?.json ?? field.name;
      let type = scalars[field.type] ?? short(field.type.replace(/^\./, ''));
      if (!scalars[field.type] && !field.type.startsWith('.')) type = `${short(pkg)}.${field.type}`;
      if (field.map) type = `{}${type}`;
      else if (field.repeated) type = `[]${type}`;
      const flags = [];
      if (g && (g.pointer || !g.omitempty) && !field.repeated && !field.map) flags.push('z');
      if (g?.inline) flags.push('i');
      const listType = markerValues(field.markers, 'listType')[0];
      const keys = markerValues(field.markers, 'listMapKey');
      const mergeKey = markerValues(field.markers, 'patchMergeKey')[0];
      const merge = markerValues(field.markers, 'patchStrategy')[0]?.split(',').includes('merge');
      // Upstream's schema conversion reads a merge patch key as a list-map key where no listType says otherwise.
      if (listType === 'map' && keys.length) flags.push(`m:${keys.join(',')}`);
      else if (!listType && merge && mergeKey) flags.push(`m:${mergeKey}`);
      else if (listType === 'set' || (!listType && merge && field.repeated)) flags.push('s');
      if (markerValues(field.markers, 'mapType')[0] === 'atomic') flags.push('a');
      // What the OpenAPI document states beside: x-kubernetes-list-type, patch strategy and key.
      if (listType) flags.push(`l:${listType}`);
      const strategy = markerValues(field.markers, 'patchStrategy')[0];
      if (strategy) flags.push(`ps:${strategy}`);
      if (mergeKey) flags.push(`pk:${mergeKey}`);
      // A default of a scalar (`+default="TCP"`): a list-map key the object leaves out has it.
      const dflt = markerValues(field.markers, 'default')[0];
      if (dflt !== undefined && scalars[field.type] && !field.repeated && isJson(dflt))
        flags.push(`=${dflt}`);
      f[name] = flags.length ? [field.no, type, flags.join(' ')] : [field.no, type];
      if (!scalars[field.type] && field.doc) d[name] = field.doc;
    }
    const entry = { f };
    if (Object.keys(d).length) entry.d = d;
    if (msg.markers.includes('structType=atomic')) entry.a = 1;
    if (msg.markers.includes('protobuf.nullable=true') && msg.fields.length === 1 && msg.fields[0].repeated) {
      const only = f[Object.keys(f)[0]];
      only[2] = only[2] ? `${only[2]} w` : 'w';
    }
    messages[`${short(pkg)}.${msg.name}`] = entry;
  }
}

// One message per line: the file stays reviewable in a diff when a release changes a type.
const sorted = Object.keys(messages).sort();
const lines = sorted.map((k) => `    ${JSON.stringify(k)}: ${JSON.stringify(messages[k])}`);
const pk = Object.keys(packages)
  .sort()
  .map((k) => `    ${JSON.stringify(k)}: ${JSON.stringify(packages[k])}`);
process.stdout.write(
  `{\n  "source": ${JSON.stringify(`k8s.io/api, k8s.io/apimachinery, k8s.io/apiextensions-apiserver ${tag}`)},\n` +
    `  "packages": {\n${pk.join(',\n')}\n  },\n  "messages": {\n${lines.join(',\n')}\n  }\n}\n`,
);
