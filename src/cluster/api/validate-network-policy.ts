/**
 * Validation of networking.k8s.io/v1 NetworkPolicies, after upstream's
 * ValidateNetworkPolicySpec, with its field paths and messages: selectors (operators, values,
 * label names), ports (protocol, number or IANA name, endPort), peers (at least one kind, no
 * ipBlock beside another), ipBlocks (a CIDR, excepts strictly inside it) and policyTypes.
 */

import { isIP } from 'node:net';
import { cidrRange } from '../netpol/ipv4-ranges.js';
import { forbidden, invalid, notSupported, required } from './field-errors.js';
import { arr, type Obj, obj } from './field-values.js';
import { dns1123Subdomain, labelValue, qualifiedNamePart } from './name-formats.js';
import type { KubeObject } from './selectors.js';
import type { StatusCause } from './status.js';

/** upstream's IsQualifiedName, as the messages of a label key. */
function keyProblems(key: string): string[] {
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  const prefix = slash < 0 ? '' : key.slice(0, slash);
  const out: string[] = [];
  if (slash >= 0 && (!prefix || prefix.length > 253 || !dns1123Subdomain.test(prefix)))
    out.push(
      "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
    );
  if (!name) out.push('name part must be non-empty');
  else if (name.length > 63) out.push('name part must be no more than 63 characters');
  else if (!qualifiedNamePart.test(name))
    out.push(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
  return out;
}

const valueProblem = (v: unknown) =>
  typeof v !== 'string'
    ? 'must be a string'
    : v.length > 63
      ? 'must be no more than 63 characters'
      : !labelValue.test(v)
        ? "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        : undefined;

/** upstream's ValidateLabelSelector. */
function labelSelector(sel: Obj, path: string, causes: StatusCause[]): void {
  arr(sel.matchExpressions).forEach((e, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const values = Array.isArray(e.values) ? e.values : [];
    if (e.operator === 'In' || e.operator === 'NotIn') {
      if (!values.length)
        causes.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (e.operator === 'Exists' || e.operator === 'DoesNotExist') {
      if (values.length)
        causes.push(
          forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
        );
    } else causes.push(invalid(`${p}.operator`, e.operator ?? '', 'not a valid selector operator'));
    for (const m of keyProblems(String(e.key ?? ''))) causes.push(invalid(`${p}.key`, e.key ?? '', m));
    values.forEach((v, j) => {
      const m = valueProblem(v);
      if (m) causes.push(invalid(`${p}.values[${j}]`, v, m));
    });
  });
  for (const [k, v] of Object.entries(obj(sel.matchLabels))) {
    for (const m of keyProblems(k)) causes.push(invalid(`${path}.matchLabels`, k, m));
    const m = valueProblem(v);
    if (m) causes.push(invalid(`${path}.matchLabels`, v, m));
  }
}

/** upstream's IsValidPortName. */
function portNameProblems(name: string): string[] {
  const out: string[] = [];
  if (name.length > 15) out.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(name))
    out.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(name)) out.push('must contain at least one letter (a-z)');
  if (name.includes('--')) out.push('must not contain consecutive hyphens');
  if (name.startsWith('-') || name.endsWith('-')) out.push('must not begin or end with a hyphen');
  return out;
}

const portRange = 'must be between 1 and 65535, inclusive';
const validPort = (n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;

function port(p: Obj, path: string, causes: StatusCause[]): void {
  if (p.protocol !== undefined && !['TCP', 'UDP', 'SCTP'].includes(String(p.protocol)))
    causes.push(notSupported(`${path}.protocol`, p.protocol, ['TCP', 'UDP', 'SCTP']));
  if (p.port === undefined || p.port === null) {
    if (p.endPort !== undefined)
      causes.push(invalid(`${path}.endPort`, p.endPort, 'may not be specified when `port` is not specified'));
    return;
  }
  if (typeof p.port === 'number') {
    if (!validPort(p.port)) causes.push(invalid(`${path}.port`, p.port, portRange));
    if (p.endPort !== undefined) {
      if (typeof p.endPort === 'number' && p.endPort < p.port)
        causes.push(invalid(`${path}.endPort`, p.port, 'must be greater than or equal to `port`'));
      if (!validPort(p.endPort)) causes.push(invalid(`${path}.endPort`, p.endPort, portRange));
    }
    return;
  }
  if (p.endPort !== undefined)
    causes.push(invalid(`${path}.endPort`, p.endPort, 'may not be specified when `port` is non-numeric'));
  for (const m of portNameProblems(String(p.port))) causes.push(invalid(`${path}.port`, p.port, m));
}

const cidrMessage = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';

/** The family and prefix length of a CIDR, or undefined when it is not one. */
function parseCidr(s: string): { family: number; bits: number } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const family = isIP(m[1]!);
  const bits = Number(m[2]);
  if (!family || bits > (family === 4 ? 32 : 128)) return undefined;
  return { family, bits };
}

function ipBlock(b: Obj, path: string, causes: StatusCause[]): void {
  const cidr = typeof b.cidr === 'string' ? b.cidr : '';
  if (!cidr) {
    causes.push(required(`${path}.cidr`));
    return;
  }
  const outer = parseCidr(cidr);
  if (!outer) {
    causes.push(invalid(`${path}.cidr`, cidr, cidrMessage));
    return;
  }
  (Array.isArray(b.except) ? b.except : []).forEach((e: unknown, i: number) => {
    const p = `${path}.except[${i}]`;
    const inner = parseCidr(String(e));
    if (!inner) {
      causes.push(invalid(p, e, cidrMessage));
      return;
    }
    const strict = inner.family === outer.family && inner.bits > outer.bits;
    // The address test is done for IPv4, the only family pods have here.
    const o = outer.family === 4 ? cidrRange(cidr) : undefined;
    const x = inner.family === 4 ? cidrRange(String(e)) : undefined;
    const inside = !o || !x || (x[0] >= o[0] && x[0] <= o[1]);
    if (!strict || !inside) causes.push(invalid(p, e, 'must be a strict subset of `cidr`'));
  });
}

function peer(p: Obj, path: string, causes: StatusCause[]): void {
  let kinds = 0;
  if (p.podSelector) {
    kinds++;
    labelSelector(obj(p.podSelector), `${path}.podSelector`, causes);
  }
  if (p.namespaceSelector) {
    kinds++;
    labelSelector(obj(p.namespaceSelector), `${path}.namespaceSelector`, causes);
  }
  if (p.ipBlock) {
    kinds++;
    ipBlock(obj(p.ipBlock), `${path}.ipBlock`, causes);
  }
  if (kinds === 0) causes.push(required(path, 'must specify a peer'));
  else if (kinds > 1 && p.ipBlock)
    causes.push(forbidden(path, 'may not specify both ipBlock and another peer'));
}

export function validateNetworkPolicy(o: KubeObject): StatusCause[] {
  const spec = obj(o.spec);
  const causes: StatusCause[] = [];
  labelSelector(obj(spec.podSelector), 'spec.podSelector', causes);
  for (const [dir, peers] of [
    ['ingress', 'from'],
    ['egress', 'to'],
  ] as const)
    arr(spec[dir]).forEach((rule, i) => {
      const path = `spec.${dir}[${i}]`;
      for (const [j, p] of arr(rule.ports).entries()) port(p, `${path}.ports[${j}]`, causes);
      for (const [j, p] of arr(rule[peers]).entries()) peer(p, `${path}.${peers}[${j}]`, causes);
    });
  const types = Array.isArray(spec.policyTypes) ? spec.policyTypes : [];
  if (types.length > 2)
    causes.push(invalid('spec.policyTypes', types, 'may not specify more than two policyTypes'));
  else
    types.forEach((t: unknown, i: number) => {
      if (t !== 'Ingress' && t !== 'Egress')
        causes.push(notSupported(`spec.policyTypes[${i}]`, t, ['Ingress', 'Egress']));
    });
  return causes;
}

/** Upstream's defaults: policyTypes from the rules, TCP for ports without a protocol. */
export function defaultNetworkPolicy(spec: Obj): void {
  spec.podSelector ??= {};
  for (const dir of ['ingress', 'egress'])
    for (const rule of arr(spec[dir])) for (const p of arr(rule.ports)) p.protocol ??= 'TCP';
  if (!Array.isArray(spec.policyTypes) || spec.policyTypes.length === 0)
    spec.policyTypes = ['Ingress', ...(arr(spec.egress).length ? ['Egress'] : [])];
}
