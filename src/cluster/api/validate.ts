/**
 * Validation of the common fields of built-in kinds (their defaults are in defaults.ts).
 * Validation collects every problem as a field cause, so the 422 Invalid answer lists them
 * all as Kubernetes does.
 */

import { isCrd, validateCrd, validateCrdUpdate } from './crd-validation.js';
import { checkTimeZone, parseSchedule } from './cron.js';
import { forbidden, invalid, notSupported, required } from './field-errors.js';
import { arr, type Obj, obj } from './field-values.js';
import { dns1123Label, dns1123Subdomain, labelValue, qualifiedNamePart } from './name-formats.js';
import { isRbac, pathSegmentProblem, validateRbac, validateRbacUpdate } from './rbac-validation.js';
import type { ResourceInfo } from './resources.js';
import type { KubeObject } from './selectors.js';
import type { StatusCause } from './status.js';
import { validateNetworkPolicy } from './validate-network-policy.js';
import {
  validateEphemeralContainersUpdate,
  validatePodContainers,
  validatePodCreate,
} from './validate-pod-containers.js';
import { validateHpa, validatePdb } from './validate-policy.js';
import { validatePodSeccomp } from './validate-seccomp.js';

/** Kinds whose names must be DNS-1123 labels rather than subdomains. */
const labelNamed = new Set(['Namespace', 'Service']);

/** Kubernetes' message for a name that is not a DNS-1123 subdomain or label. */
export function nameProblem(name: string, label: boolean): string | undefined {
  if (label) {
    if (name.length > 63) return 'must be no more than 63 characters';
    if (!dns1123Label.test(name))
      return `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`;
    return undefined;
  }
  if (name.length > 253) return 'must be no more than 253 characters';
  if (!dns1123Subdomain.test(name))
    return `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`;
  return undefined;
}

function validateLabels(labels: unknown, field: string, causes: StatusCause[]): void {
  for (const [k, v] of Object.entries(obj(labels))) {
    const name = k.includes('/') ? k.slice(k.indexOf('/') + 1) : k;
    if (!qualifiedNamePart.test(name) || name.length > 63)
      causes.push(
        invalid(
          field,
          k,
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        ),
      );
    if (typeof v !== 'string' || v.length > 63 || !labelValue.test(v))
      causes.push(
        invalid(
          field,
          String(v),
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        ),
      );
  }
}

function validatePodSpec(spec: Obj, path: string, causes: StatusCause[]): void {
  const containers = arr(spec.containers);
  if (containers.length === 0) causes.push(required(`${path}.containers`));
  const seen = new Set<string>();
  for (const [list, items] of [
    ['containers', containers],
    ['initContainers', arr(spec.initContainers)],
  ] as const) {
    items.forEach((c, i) => {
      const p = `${path}.${list}[${i}]`;
      if (!c.name) causes.push(required(`${p}.name`));
      else if (typeof c.name === 'string') {
        const prob = nameProblem(c.name, true);
        if (prob) causes.push(invalid(`${p}.name`, c.name, prob));
        if (seen.has(c.name))
          causes.push({
            field: `${p}.name`,
            reason: 'FieldValueDuplicate',
            message: `Duplicate value: "${c.name}"`,
          });
        seen.add(c.name);
      }
      if (!c.image) causes.push(required(`${p}.image`));
    });
  }
  validatePodContainers(spec, path, causes);
  validatePodSeccomp(spec, path, causes);
}

/** Rules only a new object must keep (a pod's ephemeral containers come through a subresource). */
export function validateCreate(r: ResourceInfo, o: KubeObject): StatusCause[] {
  return r.kind === 'Pod' && !r.group ? validatePodCreate(obj(o.spec)) : [];
}

/**
 * Validates an object about to be stored; returns the causes (empty when valid). The
 * name has been checked to exist already (a missing name is reported by the caller).
 */
export function validate(r: ResourceInfo, o: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const name = o.metadata?.name ?? '';
  const prob = isRbac(r)
    ? pathSegmentProblem(name)
    : r.custom
      ? nameProblem(name, false)
      : nameProblem(name, labelNamed.has(r.kind));
  if (prob) causes.push(invalid('metadata.name', name, prob));
  validateLabels(o.metadata?.labels, 'metadata.labels', causes);
  if (isCrd(r)) causes.push(...validateCrd(o));
  if (isRbac(r)) causes.push(...validateRbac(r, o));
  const spec = obj(o.spec);
  switch (r.kind) {
    case 'Pod':
      validatePodSpec(spec, 'spec', causes);
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet': {
      const sel = obj(spec.selector);
      const tmplLabels = obj(obj(obj(spec.template).metadata).labels);
      if (!spec.selector) causes.push(required('spec.selector'));
      else {
        const ml = obj(sel.matchLabels);
        if (Object.keys(ml).length === 0 && arr(sel.matchExpressions).length === 0)
          causes.push(invalid('spec.selector', 'null', 'empty selector is invalid for deployment'));
        if (Object.entries(ml).some(([k, v]) => tmplLabels[k] !== v))
          causes.push(
            invalid(
              'spec.template.metadata.labels',
              tmplLabels,
              '`selector` does not match template `labels`',
            ),
          );
      }
      validatePodSpec(obj(obj(spec.template).spec), 'spec.template.spec', causes);
      restartPolicyIn(obj(obj(spec.template).spec), 'spec.template.spec', ['Always'], causes);
      if (typeof spec.replicas === 'number' && spec.replicas < 0)
        causes.push(invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
      break;
    }
    case 'Job':
      validatePodSpec(obj(obj(spec.template).spec), 'spec.template.spec', causes);
      restartPolicyIn(obj(obj(spec.template).spec), 'spec.template.spec', ['OnFailure', 'Never'], causes);
      break;
    case 'CronJob': {
      try {
        parseSchedule(String(spec.schedule ?? ''));
      } catch (e) {
        causes.push(invalid('spec.schedule', spec.schedule ?? '', (e as Error).message));
      }
      if (spec.timeZone !== undefined)
        try {
          checkTimeZone(String(spec.timeZone));
        } catch {
          causes.push(invalid('spec.timeZone', spec.timeZone, `unknown time zone ${spec.timeZone}`));
        }
      const podSpec = obj(obj(obj(obj(spec.jobTemplate).spec).template).spec);
      validatePodSpec(podSpec, 'spec.jobTemplate.spec.template.spec', causes);
      restartPolicyIn(podSpec, 'spec.jobTemplate.spec.template.spec', ['OnFailure', 'Never'], causes);
      break;
    }
    case 'ConfigMap':
    case 'Secret':
      for (const k of [
        ...Object.keys(obj(o.data)),
        ...Object.keys(obj((o as Obj).stringData)),
        ...Object.keys(obj((o as Obj).binaryData)),
      ])
        if (!/^[-._a-zA-Z0-9]+$/.test(k))
          causes.push(
            invalid('data', k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"),
          );
      break;
    case 'PodDisruptionBudget':
      causes.push(...validatePdb(o));
      break;
    case 'HorizontalPodAutoscaler':
      causes.push(...validateHpa(o));
      break;
    case 'NetworkPolicy':
      causes.push(...validateNetworkPolicy(o));
      break;
    case 'Service':
      arr(spec.ports).forEach((p, i) => {
        if (typeof p.port !== 'number' || p.port < 1 || p.port > 65535)
          causes.push(
            invalid(`spec.ports[${i}].port`, p.port ?? 0, 'must be between 1 and 65535, inclusive'),
          );
      });
      break;
  }
  return causes;
}

/** A workload's pods restart as it needs: a Job's never Always (upstream's wording when defaulted to it). */
function restartPolicyIn(spec: Obj, path: string, allowed: string[], causes: StatusCause[]): void {
  const policy = spec.restartPolicy ?? 'Always';
  if (!allowed.includes(String(policy))) causes.push(notSupported(`${path}.restartPolicy`, policy, allowed));
}

const immutable = (field: string, value: unknown): StatusCause => invalid(field, value, 'field is immutable');
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Pod spec without the fields an update may change (images, deadlines, tolerations, a first nodeName). */
function mutablePodSpecStripped(spec: Obj, oldNodeName: unknown): Obj {
  const strip = (list: unknown) => arr(list).map(({ image: _i, ...rest }) => rest);
  // Ephemeral containers change through their subresource (checked on their own).
  const {
    activeDeadlineSeconds: _a,
    tolerations: _t,
    terminationGracePeriodSeconds: _g,
    ephemeralContainers: _e,
    ...rest
  } = spec;
  const out: Obj = {
    ...rest,
    containers: strip(spec.containers),
    initContainers: strip(spec.initContainers),
  };
  if (!oldNodeName) delete out.nodeName;
  return out;
}

type UpdateRule = (next: KubeObject, old: KubeObject, ns: Obj, os: Obj) => StatusCause[];

const selectorImmutable: UpdateRule = (_next, _old, ns, os) =>
  same(ns.selector, os.selector) ? [] : [immutable('spec.selector', ns.selector)];

/** The update rules of each built-in kind, by `group/kind` (`/Pod` for the core group). */
const updateRules: Record<string, UpdateRule> = {
  'apps/Deployment': selectorImmutable,
  'apps/ReplicaSet': selectorImmutable,
  'apps/StatefulSet': selectorImmutable,
  'apps/DaemonSet': selectorImmutable,
  // A Job's generated selector is set on create, so only a set one is immutable.
  'batch/Job': (next, old, ns, os) => (os.selector === undefined ? [] : selectorImmutable(next, old, ns, os)),
  '/Service': (_next, _old, ns, os) =>
    os.clusterIP && ns.clusterIP && ns.clusterIP !== os.clusterIP
      ? [immutable('spec.clusterIPs[0]', ns.clusterIP)]
      : [],
  '/ConfigMap': dataImmutable,
  '/Secret': dataImmutable,
  '/Pod': (_next, _old, ns, os) => [
    ...(same(mutablePodSpecStripped(ns, os.nodeName), mutablePodSpecStripped(os, os.nodeName))
      ? []
      : [
          forbidden(
            'spec',
            'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
          ),
        ]),
    ...validateEphemeralContainersUpdate(ns, os),
  ],
};

/** A ConfigMap's or Secret's data once it is marked `immutable`. */
function dataImmutable(next: KubeObject, old: KubeObject): StatusCause[] {
  const n = next as Obj;
  const o = old as Obj;
  if (o.immutable !== true || (same(n.data, o.data) && same(n.binaryData, o.binaryData))) return [];
  return [forbidden('data', 'field is immutable when `immutable` is set')];
}

/** Rules that compare an update with the stored object: immutable fields, pod spec limits. */
export function validateUpdate(r: ResourceInfo, next: KubeObject, old: KubeObject): StatusCause[] {
  const causes: StatusCause[] = isCrd(r) ? validateCrdUpdate(next, old) : [];
  if (isRbac(r)) causes.push(...validateRbacUpdate(r, next, old));
  const rule = r.custom ? undefined : updateRules[`${r.group}/${r.kind}`];
  if (rule) causes.push(...rule(next, old, obj(next.spec), obj(old.spec)));
  return causes;
}
