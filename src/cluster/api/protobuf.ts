/**
 * Decoding of the Kubernetes protobuf envelope, for every built-in kind and option kind
 * (kubectl's typed client sends protobuf for `create quota|ingress|priorityclass|cronjob|job|
 * pdb|...`, drain's Eviction and DeleteOptions). The envelope is the magic `k8s\0` and a
 * runtime.Unknown {typeMeta, raw}; raw is the kind's message, decoded by the field numbers
 * of Kubernetes' generated.proto (k8s-proto.ts). Kinds the table lacks answer 415, and
 * clients that can fall back use JSON.
 */
import { kindMessage, type ProtoField, protoMessage } from './k8s-proto.js';
import { ApiError, badRequest } from './status.js';

type Wire = Buffer | number | bigint;
type Fields = Map<number, Wire[]>;

function varint(buf: Buffer, pos: { i: number }): number | bigint {
  const start = pos.i;
  let result = 0;
  let mul = 1;
  for (let n = 0; n < 10; n++) {
    const b = buf[pos.i++];
    if (b === undefined) throw new Error(`truncated varint at byte ${pos.i - 1}`);
    result += (b & 0x7f) * mul;
    if (b < 0x80) return result <= Number.MAX_SAFE_INTEGER ? result : bigVarint(buf, start);
    mul *= 128;
  }
  throw new Error(`varint longer than 10 bytes at byte ${start}`);
}

/** A varint past 2^53 read exactly: int64 is two's complement, so a negative one is ten bytes. */
function bigVarint(buf: Buffer, start: number): number | bigint {
  let result = 0n;
  for (let i = start, shift = 0n; ; i++, shift += 7n) {
    const b = buf[i] as number;
    result |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) break;
  }
  const signed = BigInt.asIntN(64, result);
  return signed >= BigInt(Number.MIN_SAFE_INTEGER) && signed <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(signed)
    : signed;
}

const len = (buf: Buffer, pos: { i: number }): number => {
  const n = varint(buf, pos);
  if (typeof n !== 'number' || n < 0) throw new Error(`bad length at byte ${pos.i}`);
  return n;
};

/** The next `n` bytes; a length past the end is a truncated message, not a short field. */
function take(buf: Buffer, pos: { i: number }, n: number): Buffer {
  if (pos.i + n > buf.length)
    throw new Error(`truncated message: a field of ${n} bytes at byte ${pos.i} of ${buf.length}`);
  const v = buf.subarray(pos.i, pos.i + n);
  pos.i += n;
  return v;
}

/** Splits a message into its fields: length-delimited and fixed ones as Buffers, varints as numbers. */
function fields(buf: Buffer): Fields {
  const out: Fields = new Map();
  const pos = { i: 0 };
  while (pos.i < buf.length) {
    const tag = Number(varint(buf, pos));
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    let v: Wire;
    if (wire === 0) v = varint(buf, pos);
    else if (wire === 2) v = take(buf, pos, len(buf, pos));
    else if (wire === 1) v = take(buf, pos, 8);
    else if (wire === 5) v = take(buf, pos, 4);
    else throw new Error(`illegal wire type ${wire} at byte ${pos.i}`);
    const list = out.get(no);
    if (list) list.push(v);
    else out.set(no, [v]);
  }
  return out;
}

const bytesOf = (v: Wire | undefined): Buffer => (Buffer.isBuffer(v) ? v : Buffer.alloc(0));
const last = (f: Fields, no: number): Wire | undefined => f.get(no)?.at(-1);
const text = (f: Fields, no: number): string => bytesOf(last(f, no)).toString('utf8');

/** RFC 3339 as Go's metav1.Time (seconds) and MicroTime (microseconds) write it; the zero time is unset. */
function time(v: Buffer, micro: boolean): string | undefined {
  const f = fields(v);
  const seconds = Number(last(f, 1) ?? 0);
  const nanos = Number(last(f, 2) ?? 0);
  if (seconds <= 0 && nanos === 0) return undefined;
  const iso = new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, '');
  return micro ? `${iso}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${iso}Z`;
}

/** A metav1.Duration (nanoseconds) as Go's time.Duration prints it: `1h2m3s`, `1.5s`, `0s`. */
function duration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  let rest = Math.abs(ns);
  const h = Math.floor(rest / 3.6e12);
  rest -= h * 3.6e12;
  const m = Math.floor(rest / 6e10);
  rest -= m * 6e10;
  const s = (rest / 1e9).toString();
  return `${sign}${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

const json = (v: Buffer): unknown => (v.length ? JSON.parse(v.toString('utf8')) : undefined);

/**
 * Messages whose JSON is not an object of their fields: times, quantities, int-or-strings,
 * raw JSON, and the schema unions of CustomResourceDefinitions.
 */
const special: Record<string, (v: Buffer) => unknown> = {
  'meta.v1.Time': (v) => time(v, false),
  'meta.v1.MicroTime': (v) => time(v, true),
  'meta.v1.Duration': (v) => duration(Number(last(fields(v), 1) ?? 0)),
  'resource.Quantity': (v) => text(fields(v), 1),
  'intstr.IntOrString': (v) => {
    const f = fields(v);
    return Number(last(f, 1) ?? 0) === 1 ? text(f, 3) : Number(last(f, 2) ?? 0);
  },
  'runtime.RawExtension': (v) => json(bytesOf(last(fields(v), 1))),
  'meta.v1.FieldsV1': (v) => json(bytesOf(last(fields(v), 1))),
  'apiextensions.v1.JSON': (v) => json(bytesOf(last(fields(v), 1))),
  'apiextensions.v1.JSONSchemaPropsOrArray': (v) => {
    const f = fields(v);
    const one = f.get(1)?.[0];
    if (one) return decodeMessage(bytesOf(one), 'apiextensions.v1.JSONSchemaProps');
    return (f.get(2) ?? []).map((x) => decodeMessage(bytesOf(x), 'apiextensions.v1.JSONSchemaProps'));
  },
  'apiextensions.v1.JSONSchemaPropsOrBool': (v) => {
    const f = fields(v);
    const schema = f.get(2)?.[0];
    return schema
      ? decodeMessage(bytesOf(schema), 'apiextensions.v1.JSONSchemaProps')
      : Number(last(f, 1) ?? 0) !== 0;
  },
  'apiextensions.v1.JSONSchemaPropsOrStringArray': (v) => {
    const f = fields(v);
    const schema = f.get(1)?.[0];
    if (schema) return decodeMessage(bytesOf(schema), 'apiextensions.v1.JSONSchemaProps');
    return (f.get(2) ?? []).map((x) => bytesOf(x).toString('utf8'));
  },
};

/** One value of a field's element type (the type without `[]` or `{}`). */
function decodeValue(v: Wire, type: string): unknown {
  switch (type) {
    case 'string':
      return bytesOf(v).toString('utf8');
    case 'bytes':
      return bytesOf(v).toString('base64');
    case 'int':
      return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
    case 'bool':
      return typeof v === 'number' ? v !== 0 : undefined;
    case 'double':
      return Buffer.isBuffer(v) && v.length === 8 ? v.readDoubleLE(0) : undefined;
    case 'float':
      return Buffer.isBuffer(v) && v.length === 4 ? v.readFloatLE(0) : undefined;
  }
  if (!Buffer.isBuffer(v)) return undefined;
  const s = special[type];
  if (s) return s(v);
  const msg = protoMessage(type);
  // A wrapper of one list (authentication's ExtraValue, meta's Verbs) is the list in JSON.
  const only = msg && msg.byNumber.size === 1 ? [...msg.byNumber.values()][0] : undefined;
  if (only?.wraps) return (fields(v).get(only.no) ?? []).map((x) => decodeValue(x, only.type.slice(2)));
  return decodeMessage(v, type);
}

/** Repeated scalars one per field, as proto2 writes them, or packed into one (proto3's way). */
function repeatedValues(values: Wire[], type: string): Wire[] {
  const fixed = type === 'double' ? 8 : type === 'float' ? 4 : 0;
  if (!fixed && type !== 'int' && type !== 'bool') return values;
  return values.flatMap((v): Wire[] => {
    if (!Buffer.isBuffer(v)) return [v];
    if (fixed)
      return Array.from({ length: v.length / fixed }, (_, i) => v.subarray(i * fixed, (i + 1) * fixed));
    const out: Wire[] = [];
    const pos = { i: 0 };
    while (pos.i < v.length) out.push(varint(v, pos));
    return out;
  });
}

const isZero = (v: unknown) => v === '' || v === false || v === 0 || v === undefined;

function decodeField(field: ProtoField, values: Wire[]): unknown {
  if (field.type.startsWith('[]')) {
    const t = field.type.slice(2);
    return repeatedValues(values, t).map((v) => decodeValue(v, t));
  }
  if (field.type.startsWith('{}')) {
    const t = field.type.slice(2);
    const out: Record<string, unknown> = {};
    for (const entry of values) {
      const kv = fields(bytesOf(entry));
      const value = last(kv, 2);
      Object.defineProperty(out, text(kv, 1), {
        // Go leaves out an empty value: '' for a string, an empty message for a Quantity.
        value: decodeValue(value ?? (t === 'int' || t === 'bool' ? 0 : Buffer.alloc(0)), t),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return decodeValue(values.at(-1) as Wire, field.type);
}

/** Decodes one message by its fields in the table; fields the table lacks are dropped. */
function decodeMessage(buf: Buffer, name: string): Record<string, unknown> {
  const msg = protoMessage(name);
  const out: Record<string, unknown> = {};
  if (!msg) return out;
  for (const [no, values] of fields(buf)) {
    const field = msg.byNumber.get(no);
    if (!field) continue;
    const v = decodeField(field, values);
    if (field.inline && v && typeof v === 'object') {
      Object.assign(out, v);
      continue;
    }
    // Go writes a non-pointer field even when it is zero; JSON omits it under omitempty.
    if (v === undefined || (isZero(v) && !field.zero)) continue;
    out[field.name] = v;
  }
  return out;
}

/**
 * Decodes a protobuf request body into a plain object. A body that is not a well-formed
 * envelope is a 400 naming what is wrong; kinds the table lacks are 415, so clients that
 * can fall back send JSON.
 */
export function decodeProtobuf(buf: Buffer): Record<string, unknown> {
  if (buf.subarray(0, 4).toString('latin1') !== 'k8s\0')
    throw badRequest(
      'provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]',
    );
  try {
    const unknown = fields(buf.subarray(4));
    const tm = fields(bytesOf(last(unknown, 1)));
    const apiVersion = text(tm, 1);
    const kind = text(tm, 2);
    const msg = kindMessage(apiVersion, kind);
    if (!msg)
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (no protobuf message for ${apiVersion || '""'}, Kind=${kind || '""'})`,
      );
    return { apiVersion, kind, ...decodeMessage(bytesOf(last(unknown, 2)), msg) };
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw badRequest(`the protobuf body could not be decoded: ${(e as Error).message}`);
  }
}
