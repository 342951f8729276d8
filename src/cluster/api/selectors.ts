/**
 * Label selectors (`a=b,c!=d,e in (x,y),f notin (z),g,!h`) and field selectors
 * (`metadata.name=x,spec.nodeName!=y`), parsed once and matched against objects.
 */
import { arr, obj, strings } from './field-values.js';
import { badRequest } from './status.js';

export type Matcher = (obj: KubeObject) => boolean;

/** The loose object shape selectors and the REST layer work on. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

interface Requirement {
  key: string;
  op: '=' | '!=' | 'in' | 'notin' | 'exists' | '!';
  values: string[];
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter(Boolean);
}

/** Parses a label selector; throws 400 BadRequest naming the bad term. */
export function parseLabelSelector(s: string | undefined | null): Requirement[] {
  if (!s) return [];
  return splitTerms(s).map((term) => {
    let m = /^([^\s!=,()]+)\s+(in|notin)\s+\((.*)\)$/.exec(term);
    if (m)
      return {
        key: m[1] as string,
        op: m[2] as 'in' | 'notin',
        values: (m[3] as string)
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      };
    m = /^([^\s!=,()]+)\s*(==|=|!=)\s*([^\s,()]*)$/.exec(term);
    if (m) return { key: m[1] as string, op: m[2] === '!=' ? '!=' : '=', values: [m[3] as string] };
    m = /^!\s*([^\s!=,()]+)$/.exec(term);
    if (m) return { key: m[1] as string, op: '!', values: [] };
    m = /^([^\s!=,()]+)$/.exec(term);
    if (m) return { key: m[1] as string, op: 'exists', values: [] };
    throw badRequest(`unable to parse requirement: found '${term}', expected: valid label selector`);
  });
}

function matchRequirement(r: Requirement, get: (k: string) => string | undefined): boolean {
  const v = get(r.key);
  switch (r.op) {
    case '=':
      return v === r.values[0];
    case '!=':
      return v !== r.values[0];
    case 'in':
      return v !== undefined && r.values.includes(v);
    case 'notin':
      return v === undefined || !r.values.includes(v);
    case 'exists':
      return v !== undefined;
    case '!':
      return v === undefined;
  }
}

/** A matcher for a label selector string. */
export function labelMatcher(s: string | undefined | null): Matcher {
  const reqs = parseLabelSelector(s);
  if (reqs.length === 0) return () => true;
  return (o) => reqs.every((r) => matchRequirement(r, (k) => o.metadata?.labels?.[k]));
}

/** A matcher for a structured selector (`matchLabels` + `matchExpressions`), as workloads carry. */
export function selectorMatcher(sel: {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}): (labels: Record<string, string> | undefined) => boolean {
  const reqs: Requirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, v]) => ({
    key,
    op: '=',
    values: [v],
  }));
  for (const e of sel.matchExpressions ?? []) {
    const op = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' }[
      e.operator
    ] as Requirement['op'];
    if (op) reqs.push({ key: e.key, op, values: e.values ?? [] });
  }
  return (labels) => reqs.every((r) => matchRequirement(r, (k) => labels?.[k]));
}

/**
 * A structured selector (`matchLabels` + `matchExpressions`) as text, as upstream's
 * LabelSelectorAsSelector(...).String() writes it: the requirements sorted by key
 * (`app=web,tier in (a,b),!gone`, the values sorted too), the empty string for one that has
 * none. A Scale's status.selector, and what `kubectl get -o wide` prints.
 */
export function labelSelectorText(sel: unknown): string {
  const reqs: [string, string][] = [];
  for (const [k, v] of Object.entries(obj(obj(sel).matchLabels))) reqs.push([k, `${k}=${v}`]);
  for (const e of arr(obj(sel).matchExpressions)) {
    const key = String(e.key);
    const values = strings(e.values).slice().sort().join(',');
    const text =
      e.operator === 'In'
        ? `${key} in (${values})`
        : e.operator === 'NotIn'
          ? `${key} notin (${values})`
          : e.operator === 'Exists'
            ? key
            : `!${key}`;
    reqs.push([key, text]);
  }
  return reqs
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, t]) => t)
    .join(',');
}

/** Reads a dotted path (`spec.nodeName`) from an object as a string. */
function fieldValue(o: KubeObject, path: string): string | undefined {
  let cur: unknown = o;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return undefined;
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

/** Fields every resource may be selected by; some kinds add their own. */
const commonFields = ['metadata.name', 'metadata.namespace'];
const kindFields: Record<string, string[]> = {
  Pod: [
    'spec.nodeName',
    'status.phase',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'status.podIP',
  ],
  Event: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  Secret: ['type'],
  Node: ['spec.unschedulable'],
  Namespace: ['status.phase'],
  ReplicaSet: ['status.replicas'],
  Job: ['status.successful'],
};

/**
 * A matcher for a field selector; a field the kind does not support is 400, with
 * Kubernetes' wording (`field label not supported: x`).
 */
export function fieldMatcher(s: string | undefined | null, kind: string): Matcher {
  if (!s) return () => true;
  const allowed = [...commonFields, ...(kindFields[kind] ?? [])];
  const reqs = splitTerms(s).map((term) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${term}'; can't understand '${term}'`);
    const key = m[1] as string;
    if (!allowed.includes(key)) throw badRequest(`field label not supported: ${key}`);
    return { key, neg: m[2] === '!=', value: m[3] as string };
  });
  return (o) =>
    reqs.every((r) => {
      const v = fieldValue(o, r.key) ?? '';
      return r.neg ? v !== r.value : v === r.value;
    });
}
