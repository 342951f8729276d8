/**
 * Decoding of the Kubernetes protobuf envelope for the kinds kubectl's typed client sends
 * as protobuf (`kubectl create configmap|secret|namespace|serviceaccount|deployment|service|
 * job|cronjob|quota|ingress|priorityclass|pdb`, `kubectl autoscale`, drain's Eviction and
 * DeleteOptions). The
 * envelope is the magic `k8s\0` and a runtime.Unknown {typeMeta, raw}; raw is the kind's
 * message. Field numbers are in protobuf-schema.ts.
 * Kinds not listed here answer 415, and clients that can fall back use JSON.
 */
import { protoKinds, protoSchema } from './protobuf-schema.js';
import { ApiError, badRequest } from './status.js';

type Fields = Map<number, (Buffer | number)[]>;

function varint(buf: Buffer, pos: { i: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos.i++];
    if (b === undefined) throw new Error(`truncated varint at byte ${pos.i - 1}`);
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return result;
    shift += 7;
  }
}

/** The next `len` bytes; a length past the end is a truncated message, not a short field. */
function take(buf: Buffer, pos: { i: number }, len: number): Buffer {
  if (pos.i + len > buf.length)
    throw new Error(`truncated message: a field of ${len} bytes at byte ${pos.i} of ${buf.length}`);
  const v = buf.subarray(pos.i, pos.i + len);
  pos.i += len;
  return v;
}

/** Splits a message into its fields: length-delimited ones as Buffers, varints as numbers. */
function fields(buf: Buffer): Fields {
  const out: Fields = new Map();
  const pos = { i: 0 };
  while (pos.i < buf.length) {
    const tag = varint(buf, pos);
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    let v: Buffer | number;
    if (wire === 0) v = varint(buf, pos);
    else if (wire === 2) {
      v = take(buf, pos, varint(buf, pos));
    } else if (wire === 1) v = take(buf, pos, 8);
    else if (wire === 5) v = take(buf, pos, 4);
    else throw new Error(`illegal wire type ${wire} at byte ${pos.i}`);
    const list = out.get(no) ?? [];
    list.push(v);
    out.set(no, list);
  }
  return out;
}

function decodeScalar(v: Buffer | number, type: string): unknown {
  if (type === 'int') return typeof v === 'number' ? (v > 2 ** 63 ? v - 2 ** 64 : v) : undefined;
  if (type === 'bool') return typeof v === 'number' ? v !== 0 : undefined;
  if (!Buffer.isBuffer(v)) return undefined;
  if (type === 'string') return v.toString('utf8');
  if (type === 'bytes') return v.toString('base64');
  if (type === 'IntOrString') {
    const f = fields(v);
    return f.get(1)?.[0] === 1
      ? (f.get(3)?.[0] as Buffer | undefined)?.toString('utf8')
      : (f.get(2)?.[0] ?? 0);
  }
  if (type === 'Time') {
    // metav1.Time: {seconds, nanos}; Go writes the zero time for an unset one, JSON omits it.
    const seconds = Number(fields(v).get(1)?.[0] ?? 0);
    return seconds > 0 ? new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z') : undefined;
  }
  if (type.startsWith('map')) {
    const kv = fields(v);
    const raw = kv.get(2)?.[0];
    let val: unknown = '';
    if (Buffer.isBuffer(raw)) {
      if (type === 'map:bytes') val = raw.toString('base64');
      else if (type === 'map:Quantity')
        val = (fields(raw).get(1)?.[0] as Buffer | undefined)?.toString('utf8') ?? '';
      else val = raw.toString('utf8');
    }
    return [(kv.get(1)?.[0] as Buffer | undefined)?.toString('utf8') ?? '', val];
  }
  return decodeMessage(v, type);
}

/** Integer fields that are pointers in Go, so a 0 on the wire is a real 0. */
const pointerInts = new Set([
  'replicas',
  'parallelism',
  'completions',
  'backoffLimit',
  'terminationGracePeriodSeconds',
  'gracePeriodSeconds',
  'minReplicas',
  // PriorityClass.value has no omitempty: a 0 is written in JSON too.
  'value',
]);

/** Decodes one message by the schema; unknown fields are dropped. */
function decodeMessage(buf: Buffer, msg: string): Record<string, unknown> {
  const schema = protoSchema[msg] ?? {};
  const f = fields(buf);
  const out: Record<string, unknown> = {};
  for (const [no, values] of f) {
    const spec = schema[no];
    if (!spec) continue;
    const [name, t] = spec;
    const repeated = t.startsWith('[]');
    const type = repeated ? t.slice(2) : t;
    if (type.startsWith('map')) {
      out[name] = Object.fromEntries(values.map((v) => decodeScalar(v, type) as [string, unknown]));
    } else if (repeated) out[name] = values.map((v) => decodeScalar(v, type));
    else if (name === '') {
      Object.assign(out, decodeScalar(values[values.length - 1] as Buffer | number, type));
      continue;
    } else out[name] = decodeScalar(values[values.length - 1] as Buffer | number, type);
    // Go's generated code writes non-pointer fields even when zero; JSON omits them.
    const v = out[name];
    if (v === '' || v === false || v === undefined || (v === 0 && !pointerInts.has(name))) delete out[name];
  }
  return out;
}

const sub = (f: Fields, n: number): Buffer | undefined => {
  const v = f.get(n)?.[0];
  return Buffer.isBuffer(v) ? v : undefined;
};

/**
 * Decodes a protobuf request body into a plain object. A body that is not a well-formed
 * envelope is a 400 naming what is wrong; kinds not decoded here are 415, so clients that
 * can fall back send JSON.
 */
export function decodeProtobuf(buf: Buffer): Record<string, unknown> {
  if (buf.subarray(0, 4).toString('latin1') !== 'k8s\0')
    throw badRequest(
      'provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]',
    );
  try {
    const unknown = fields(buf.subarray(4));
    const tm = fields(sub(unknown, 1) ?? Buffer.alloc(0));
    const text = (n: number) => (tm.get(n)?.[0] as Buffer | undefined)?.toString('utf8') ?? '';
    const apiVersion = text(1);
    const kind = text(2);
    const msg = protoKinds[`${apiVersion}/${kind}`];
    if (!msg)
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml',
      );
    return { apiVersion, kind, ...decodeMessage(sub(unknown, 2) ?? Buffer.alloc(0), msg) };
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw badRequest(`the protobuf body could not be decoded: ${(e as Error).message}`);
  }
}
