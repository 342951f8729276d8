/**
 * The built-in types as Kubernetes' generated.proto files and Go types describe them
 * (k8s-proto.json, made by scripts/k8s-proto-table.mjs from a Kubernetes release and kept in
 * the repository): protobuf field numbers, JSON names, and the list and map types that
 * server-side apply merges by (list-map keys, sets, atomic structs). Read on first use.
 */
import { readFileSync } from 'node:fs';

export interface ProtoField {
  /** The JSON name. */
  name: string;
  no: number;
  /** `string`, `int`, `bool`, `bytes`, `double`, `float`, a message, or `[]T` / `{}T`. */
  type: string;
  /** A zero on the wire is a value (a Go pointer, or no omitempty): JSON keeps it. */
  zero: boolean;
  /** Inlined in JSON (Go's embedded struct): its fields sit beside this message's. */
  inline: boolean;
  /** A list map's keys (x-kubernetes-list-map-keys, or the patch merge key). */
  listKeys?: string[];
  /** A list of scalars that is a set (x-kubernetes-list-type: set). */
  set: boolean;
  /** A map owned whole by whoever sets it (x-kubernetes-map-type: atomic). */
  atomic: boolean;
  /** A message that wraps this one list in protobuf and is the list itself in JSON. */
  wraps: boolean;
  /** A scalar's default (`+default=`), which a list-map key left out takes. */
  default?: unknown;
  /** Strategic merge patch: the strategy (`merge`, `retainKeys`, `merge,retainKeys`) and merge key. */
  patchStrategy?: string;
  patchMergeKey?: string;
}

export interface ProtoMessage {
  name: string;
  byName: Map<string, ProtoField>;
  byNumber: Map<number, ProtoField>;
  /** structType=atomic: owned whole. */
  atomic: boolean;
  /** Descriptions of the fields whose type is another message. */
  docs: Record<string, string>;
}

interface Table {
  source: string;
  packages: Record<string, string>;
  messages: Record<
    string,
    { f: Record<string, [number, string, string?]>; d?: Record<string, string>; a?: 1 }
  >;
}

let table: Table | undefined;
const parsed = new Map<string, ProtoMessage | null>();

function load(): Table {
  table ??= JSON.parse(readFileSync(new URL('./k8s-proto.json', import.meta.url), 'utf8')) as Table;
  return table;
}

/** Where the table was made from, e.g. `k8s.io/api, ... v0.32.9`. */
export const protoSource = (): string => load().source;

/** A message by its short name (`core.v1.Container`), parsed once. */
export function protoMessage(name: string): ProtoMessage | undefined {
  let m = parsed.get(name);
  if (m === undefined) {
    const all = load().messages;
    const raw = Object.hasOwn(all, name) ? all[name] : undefined;
    m = raw
      ? {
          name,
          byName: new Map(),
          byNumber: new Map(),
          atomic: raw.a === 1,
          docs: raw.d ?? {},
        }
      : null;
    if (raw && m) {
      for (const [fname, [no, type, flags = '']] of Object.entries(raw.f)) {
        const fl = flags.split(' ');
        const keys = fl.find((x) => x.startsWith('m:'));
        const dflt = fl.find((x) => x.startsWith('='));
        const strategy = fl.find((x) => x.startsWith('ps:'));
        const mergeKey = fl.find((x) => x.startsWith('pk:'));
        const field: ProtoField = {
          name: fname,
          no,
          type,
          zero: fl.includes('z'),
          inline: fl.includes('i'),
          ...(keys ? { listKeys: keys.slice(2).split(',') } : {}),
          set: fl.includes('s'),
          atomic: fl.includes('a'),
          wraps: fl.includes('w'),
          ...(dflt ? { default: JSON.parse(dflt.slice(1)) } : {}),
          ...(strategy ? { patchStrategy: strategy.slice(3) } : {}),
          ...(mergeKey ? { patchMergeKey: mergeKey.slice(3) } : {}),
        };
        m.byName.set(fname, field);
        m.byNumber.set(no, field);
      }
    }
    parsed.set(name, m);
  }
  return m ?? undefined;
}

/**
 * The message of a kind: `apps/v1` Deployment -> `apps.v1.Deployment`. The option kinds every
 * group version accepts (DeleteOptions, CreateOptions, ...) live in meta.k8s.io/v1.
 */
export function kindMessage(apiVersion: string, kind: string): string | undefined {
  const t = load();
  const pkg = Object.hasOwn(t.packages, apiVersion) ? t.packages[apiVersion] : undefined;
  if (pkg && Object.hasOwn(t.messages, `${pkg}.${kind}`)) return `${pkg}.${kind}`;
  return Object.hasOwn(t.messages, `meta.v1.${kind}`) ? `meta.v1.${kind}` : undefined;
}

/** The schema message of an object's kind; none for custom resources and kinds the table lacks. */
export function objectType(o: { apiVersion?: unknown; kind?: unknown }): string | undefined {
  if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') return undefined;
  const name = kindMessage(o.apiVersion, o.kind);
  // Option kinds (meta.v1) answer any group: an object of an unknown group has no schema.
  return name && !name.startsWith('meta.v1.') ? name : undefined;
}

/** A message's field by JSON name, looking into the messages it inlines (Volume's VolumeSource). */
export function protoField(msg: ProtoMessage, name: string): ProtoField | undefined {
  const f = msg.byName.get(name);
  if (f && !f.inline) return f;
  for (const x of msg.byNumber.values()) {
    if (!x.inline) continue;
    const inner = protoMessage(x.type);
    const found = inner && protoField(inner, name);
    if (found) return found;
  }
  return undefined;
}
