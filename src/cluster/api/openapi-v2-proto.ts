/**
 * The OpenAPI v2 document as the protobuf message client-go's discovery reads from
 * /openapi/v2 (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`): gnostic's
 * openapi_v2.Document (github.com/google/gnostic-models, openapiv2/OpenAPIv2.proto, whose
 * field numbers are used below). Vendor extensions (`x-kubernetes-group-version-kind`, ...)
 * are NamedAny values holding YAML, written as JSON, which is YAML.
 */

type Json = Record<string, unknown>;

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

/** Builds one message field by field; proto3 leaves zero values out. */
class Message {
  private readonly parts: Buffer[] = [];
  bytes(no: number, b: Buffer | undefined): this {
    if (b === undefined) return this;
    this.parts.push(varint(no * 8 + 2), varint(b.length), b);
    return this;
  }
  str(no: number, s: unknown): this {
    return typeof s === 'string' && s !== '' ? this.bytes(no, Buffer.from(s)) : this;
  }
  strs(no: number, list: unknown): this {
    if (Array.isArray(list)) for (const s of list) this.bytes(no, Buffer.from(String(s)));
    return this;
  }
  bool(no: number, b: unknown): this {
    if (b === true) this.parts.push(varint(no * 8), varint(1));
    return this;
  }
  int(no: number, n: unknown): this {
    if (typeof n === 'number' && Number.isInteger(n) && n > 0) this.parts.push(varint(no * 8), varint(n));
    return this;
  }
  double(no: number, n: unknown): this {
    if (typeof n !== 'number' || n === 0) return this;
    const b = Buffer.alloc(8);
    b.writeDoubleLE(n);
    this.parts.push(varint(no * 8 + 1), b);
    return this;
  }
  msg(no: number, m: Message | undefined): this {
    return m ? this.bytes(no, m.done()) : this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const isObj = (v: unknown): v is Json => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/** Any {yaml = 2}: a value as YAML text (JSON is YAML). */
const anyOf = (v: unknown) => new Message().str(2, `${JSON.stringify(v)}\n`);

/** The `x-` keys of an object as NamedAny {name = 1, value = 2}, into field `no`. */
function extensions(m: Message, no: number, o: Json): Message {
  for (const [k, v] of Object.entries(o))
    if (k.startsWith('x-')) m.msg(no, new Message().str(1, k).msg(2, anyOf(v)));
  return m;
}

function schema(s: Json): Message {
  const m = new Message().str(1, s.$ref).str(2, s.format).str(3, s.title).str(4, s.description);
  if (s.default !== undefined) m.msg(5, anyOf(s.default));
  m.double(6, s.multipleOf)
    .double(7, s.maximum)
    .bool(8, s.exclusiveMaximum)
    .double(9, s.minimum)
    .bool(10, s.exclusiveMinimum)
    .int(11, s.maxLength)
    .int(12, s.minLength)
    .str(13, s.pattern)
    .int(14, s.maxItems)
    .int(15, s.minItems)
    .bool(16, s.uniqueItems)
    .int(17, s.maxProperties)
    .int(18, s.minProperties)
    .strs(19, s.required);
  if (Array.isArray(s.enum)) for (const e of s.enum) m.msg(20, anyOf(e));
  // AdditionalPropertiesItem: a schema (1) or a boolean (2).
  if (isObj(s.additionalProperties)) m.msg(21, new Message().msg(1, schema(s.additionalProperties)));
  else if (typeof s.additionalProperties === 'boolean')
    m.msg(21, new Message().bool(2, s.additionalProperties));
  if (s.type !== undefined) m.msg(22, new Message().strs(1, Array.isArray(s.type) ? s.type : [s.type]));
  if (isObj(s.items)) m.msg(23, new Message().msg(1, schema(s.items)));
  if (Array.isArray(s.allOf)) for (const x of s.allOf) if (isObj(x)) m.msg(24, schema(x));
  if (isObj(s.properties)) {
    const props = new Message();
    for (const [k, v] of Object.entries(s.properties))
      if (isObj(v)) props.msg(1, new Message().str(1, k).msg(2, schema(v)));
    m.msg(25, props);
  }
  m.bool(27, s.readOnly);
  if (s.example !== undefined) m.msg(30, anyOf(s.example));
  return extensions(m, 31, s);
}

/** ParametersItem {parameter = 1: Parameter {body = 1 | non_body = 2}}. */
function parameter(p: Json): Message {
  let param: Message;
  if (p.in === 'body')
    param = new Message().msg(
      1,
      new Message()
        .str(1, p.description)
        .str(2, p.name)
        .str(3, p.in)
        .bool(4, p.required)
        .msg(5, isObj(p.schema) ? schema(p.schema) : undefined),
    );
  else {
    // Path parameters (4) and query parameters (3) number their fields differently.
    const path = p.in === 'path';
    const sub = new Message()
      .bool(1, p.required)
      .str(2, p.in)
      .str(3, p.description)
      .str(4, p.name)
      .str(path ? 5 : 6, p.type)
      .bool(path ? 19 : 20, p.uniqueItems);
    param = new Message().msg(2, new Message().msg(path ? 4 : 3, sub));
  }
  return new Message().msg(1, param);
}

function operation(op: Json): Message {
  const m = new Message()
    .strs(1, op.tags)
    .str(2, op.summary)
    .str(3, op.description)
    .str(5, op.operationId)
    .strs(6, op.produces)
    .strs(7, op.consumes);
  if (Array.isArray(op.parameters)) for (const p of op.parameters) if (isObj(p)) m.msg(8, parameter(p));
  if (isObj(op.responses)) {
    const rs = new Message();
    for (const [code, r] of Object.entries(op.responses)) {
      if (!isObj(r)) continue;
      // Response {description = 1, schema = 2: SchemaItem {schema = 1}}.
      const resp = new Message()
        .str(1, r.description)
        .msg(2, isObj(r.schema) ? new Message().msg(1, schema(r.schema)) : undefined);
      rs.msg(1, new Message().str(1, code).msg(2, new Message().msg(1, resp)));
    }
    m.msg(9, rs);
  }
  m.strs(10, op.schemes).bool(11, op.deprecated);
  return extensions(m, 13, op);
}

const verbs: Record<string, number> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 };

/** openapi_v2.Document of a v2 JSON document. */
export function encodeOpenapiV2(doc: Json): Buffer {
  const info = isObj(doc.info) ? doc.info : {};
  const m = new Message()
    .str(1, doc.swagger)
    .msg(2, new Message().str(1, info.title).str(2, info.version).str(3, info.description));
  const paths = new Message();
  for (const [p, item] of Object.entries(isObj(doc.paths) ? doc.paths : {})) {
    if (!isObj(item)) continue;
    const pi = new Message();
    for (const [verb, op] of Object.entries(item)) {
      const no = Object.hasOwn(verbs, verb) ? verbs[verb] : undefined;
      if (no && isObj(op)) pi.msg(no, operation(op));
    }
    if (Array.isArray(item.parameters))
      for (const x of item.parameters) if (isObj(x)) pi.msg(9, parameter(x));
    paths.msg(2, new Message().str(1, p).msg(2, pi));
  }
  m.msg(8, paths);
  const defs = new Message();
  for (const [name, s] of Object.entries(isObj(doc.definitions) ? doc.definitions : {}))
    if (isObj(s)) defs.msg(1, new Message().str(1, name).msg(2, schema(s)));
  m.msg(9, defs);
  return extensions(m, 16, doc).done();
}
