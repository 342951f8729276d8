/**
 * Decoding of the Kubernetes protobuf envelope for the few kinds kubectl's typed client
 * sends as protobuf (`kubectl create configmap|secret|namespace|serviceaccount`). The
 * envelope is the magic `k8s\0` and a runtime.Unknown {typeMeta, raw}; raw is the kind's
 * message. Field numbers follow the published generated.proto of k8s.io/api core/v1.
 * Kinds not listed here answer 415, and clients that can fall back use JSON.
 */
import { ApiError } from './status.js';

type Fields = Map<number, (Buffer | number)[]>;

function varint(buf: Buffer, pos: { i: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos.i++];
    if (b === undefined) throw new Error('truncated varint');
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return result;
    shift += 7;
  }
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
      const len = varint(buf, pos);
      v = buf.subarray(pos.i, pos.i + len);
      pos.i += len;
    } else if (wire === 1) {
      v = buf.subarray(pos.i, pos.i + 8);
      pos.i += 8;
    } else if (wire === 5) {
      v = buf.subarray(pos.i, pos.i + 4);
      pos.i += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
    const list = out.get(no) ?? [];
    list.push(v);
    out.set(no, list);
  }
  return out;
}

const str = (f: Fields, n: number) => {
  const v = f.get(n)?.[0];
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
};
const strs = (f: Fields, n: number) =>
  (f.get(n) ?? []).filter(Buffer.isBuffer).map((b) => b.toString('utf8'));
const bool = (f: Fields, n: number) => {
  const v = f.get(n)?.[0];
  return typeof v === 'number' ? v !== 0 : undefined;
};
function map(f: Fields, n: number, bytes = false): Record<string, string> | undefined {
  const entries = (f.get(n) ?? []).filter(Buffer.isBuffer);
  if (entries.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const e of entries) {
    const kv = fields(e);
    const k = str(kv, 1) ?? '';
    const raw = kv.get(2)?.[0];
    out[k] = Buffer.isBuffer(raw) ? (bytes ? raw.toString('base64') : raw.toString('utf8')) : '';
  }
  return out;
}

function meta(b: Buffer | undefined): Record<string, unknown> {
  if (!b) return {};
  const f = fields(b);
  const m: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) m[k] = v;
  };
  set('name', str(f, 1));
  set('generateName', str(f, 2));
  set('namespace', str(f, 3));
  set('resourceVersion', str(f, 6));
  set('labels', map(f, 11));
  set('annotations', map(f, 12));
  set('finalizers', strs(f, 14));
  return m;
}

const sub = (f: Fields, n: number) => {
  const v = f.get(n)?.[0];
  return Buffer.isBuffer(v) ? v : undefined;
};

const decoders: Record<string, (f: Fields) => Record<string, unknown>> = {
  ConfigMap: (f) => ({
    metadata: meta(sub(f, 1)),
    data: map(f, 2),
    binaryData: map(f, 3, true),
    immutable: bool(f, 4),
  }),
  Secret: (f) => ({
    metadata: meta(sub(f, 1)),
    data: map(f, 2, true),
    type: str(f, 3),
    stringData: map(f, 4),
    immutable: bool(f, 5),
  }),
  Namespace: (f) => ({ metadata: meta(sub(f, 1)) }),
  ServiceAccount: (f) => ({
    metadata: meta(sub(f, 1)),
    automountServiceAccountToken: bool(f, 4),
  }),
};

/** Decodes a protobuf request body into a plain object, or throws 415 for kinds not decoded here. */
export function decodeProtobuf(buf: Buffer): Record<string, unknown> {
  const unsupported = () =>
    new ApiError(
      415,
      'UnsupportedMediaType',
      'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml',
    );
  if (buf.subarray(0, 4).toString('latin1') !== 'k8s\0') throw unsupported();
  const unknown = fields(buf.subarray(4));
  const tm = fields(sub(unknown, 1) ?? Buffer.alloc(0));
  const apiVersion = str(tm, 1) ?? '';
  const kind = str(tm, 2) ?? '';
  const decode = apiVersion === 'v1' ? decoders[kind] : undefined;
  if (!decode) throw unsupported();
  const obj = decode(fields(sub(unknown, 2) ?? Buffer.alloc(0)));
  for (const k of Object.keys(obj)) if (obj[k] === undefined) delete obj[k];
  return { apiVersion, kind, ...obj };
}
