/**
 * Defaulting and validation of the common fields of built-in kinds. Validation collects
 * every problem as a field cause, so the 422 Invalid answer lists them all as Kubernetes does.
 */

import { qosClass } from '../agent/qos.js';
import { defaultCrdNames, validateCrd, validateCrdUpdate } from './crd-validation.js';
import { checkTimeZone, parseSchedule } from './cron.js';
import { forbidden, invalid, notSupported, required } from './field-errors.js';
import { defaultLimitRangeItem, type LimitRangeItem } from './limit-range.js';
import { isRbac, pathSegmentProblem, validateRbac, validateRbacUpdate } from './rbac-validation.js';
import type { ResourceInfo } from './resources.js';
import type { KubeObject } from './selectors.js';
import type { StatusCause } from './status.js';
import { defaultNetworkPolicy, validateNetworkPolicy } from './validate-network-policy.js';
import {
  validateEphemeralContainersUpdate,
  validatePodContainers,
  validatePodCreate,
} from './validate-pod-containers.js';
import { validateHpa, validatePdb } from './validate-policy.js';
import { validatePodSeccomp } from './validate-seccomp.js';

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const labelName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

const isCrd = (r: ResourceInfo) =>
  r.kind === 'CustomResourceDefinition' && r.group === 'apiextensions.k8s.io';

/** Kinds whose names must be DNS-1123 labels rather than subdomains. */
const labelNamed = new Set(['Namespace', 'Service']);

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);

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
    if (!labelName.test(name) || name.length > 63)
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

function defaultContainers(list: unknown): void {
  for (const c of arr(list)) {
    c.imagePullPolicy ??=
      typeof c.image === 'string' && (c.image.endsWith(':latest') || !/:[^/]+$/.test(c.image))
        ? 'Always'
        : 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.resources ??= {};
    for (const p of arr(c.ports)) p.protocol ??= 'TCP';
  }
}

function defaultPodSpec(spec: Obj): void {
  defaultContainers(spec.containers);
  defaultContainers(spec.initContainers);
  defaultContainers(spec.ephemeralContainers);
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
}

/**
 * Seconds a pod stays on a not-ready or unreachable node before it is evicted: the
 * tolerationSeconds the DefaultTolerationSeconds admission gives every pod. Kubernetes uses
 * 300; Berth 30, so a failed node's pods move within a minute (`berth server
 * --default-toleration-seconds`).
 */
let defaultTolerationSeconds = 30;
export function setDefaultTolerationSeconds(n: number): void {
  defaultTolerationSeconds = n;
}

/** Fills in the defaults Kubernetes sets on create, so reads show the same fields. */
export function applyDefaults(r: ResourceInfo, o: KubeObject): void {
  const hadSpec = o.spec !== undefined;
  o.spec ??= {};
  const spec = o.spec as Obj;
  const template = () => {
    spec.template ??= {};
    const t = spec.template as Obj;
    t.spec ??= {};
    defaultPodSpec(t.spec as Obj);
  };
  /** A rolling-update strategy as upstream defaults it: the type, then the missing numbers. */
  const rolling = (field: string, numbers: Obj) => {
    const st = ((spec[field] as Obj | undefined) ?? {}) as Obj;
    spec[field] = st;
    st.type ??= 'RollingUpdate';
    if (st.type === 'RollingUpdate') {
      st.rollingUpdate ??= {};
      const ru = st.rollingUpdate as Obj;
      for (const [k, v] of Object.entries(numbers)) ru[k] ??= v;
    }
  };
  switch (r.kind) {
    case 'Pod': {
      defaultPodSpec(spec);
      const tolerations = arr(spec.tolerations);
      for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'])
        if (
          !tolerations.some(
            (t) =>
              (t.key === key || (!t.key && t.operator === 'Exists')) &&
              (!t.effect || t.effect === 'NoExecute'),
          )
        )
          tolerations.push({
            key,
            operator: 'Exists',
            effect: 'NoExecute',
            tolerationSeconds: defaultTolerationSeconds,
          });
      spec.tolerations = tolerations;
      spec.enableServiceLinks ??= true;
      spec.preemptionPolicy ??= 'PreemptLowerPriority';
      spec.priority ??= 0;
      // The API server decides the QoS class at creation, as Kubernetes' pod strategy does;
      // `kubectl run` sends `status: {}`, and its pod is Pending all the same.
      if (!(o.status as Obj | undefined)?.phase)
        o.status = { ...(o.status as Obj | undefined), phase: 'Pending', qosClass: qosClass({ spec }) };
      break;
    }
    case 'Deployment':
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      rolling('strategy', { maxSurge: '25%', maxUnavailable: '25%' });
      template();
      break;
    case 'ReplicaSet':
      spec.replicas ??= 1;
      template();
      break;
    case 'StatefulSet':
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= 'OrderedReady';
      spec.revisionHistoryLimit ??= 10;
      spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
      rolling('updateStrategy', { partition: 0 });
      template();
      break;
    case 'DaemonSet':
      spec.revisionHistoryLimit ??= 10;
      rolling('updateStrategy', { maxUnavailable: 1, maxSurge: 0 });
      template();
      break;
    case 'CronJob': {
      spec.concurrencyPolicy ??= 'Allow';
      spec.suspend ??= false;
      spec.successfulJobsHistoryLimit ??= 3;
      spec.failedJobsHistoryLimit ??= 1;
      spec.jobTemplate ??= {};
      const jt = spec.jobTemplate as Obj;
      jt.spec ??= {};
      const js = jt.spec as Obj;
      js.template ??= {};
      const pt = js.template as Obj;
      pt.spec ??= {};
      defaultPodSpec(pt.spec as Obj);
      break;
    }
    case 'Job': {
      spec.backoffLimit ??= 6;
      // A work-queue Job (no completions) keeps completions unset, as upstream.
      if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
      spec.parallelism ??= 1;
      spec.completionMode ??= 'NonIndexed';
      spec.suspend ??= false;
      spec.podReplacementPolicy ??= 'TerminatingOrFailed';
      spec.manualSelector ??= undefined;
      template();
      // The generated selector (unless manualSelector): the Job's own uid, also put on the template.
      const uid = o.metadata?.uid;
      if (!spec.manualSelector && !spec.selector && uid) {
        spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
        const t = spec.template as Obj;
        t.metadata ??= {};
        const m = t.metadata as Obj;
        m.labels = {
          ...((m.labels as Obj | undefined) ?? {}),
          'batch.kubernetes.io/controller-uid': uid,
          'batch.kubernetes.io/job-name': o.metadata?.name,
          'controller-uid': uid,
          'job-name': o.metadata?.name,
        };
      }
      if (spec.manualSelector === undefined) delete spec.manualSelector;
      break;
    }
    case 'Service':
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      for (const p of arr(spec.ports)) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      o.status ??= { loadBalancer: {} };
      break;
    case 'NetworkPolicy':
      defaultNetworkPolicy(spec);
      break;
    case 'Namespace':
      // The namespace controller's finalizer: contents go before the namespace does.
      spec.finalizers ??= ['kubernetes'];
      if (!o.metadata?.deletionTimestamp) o.status = { phase: 'Active' };
      break;
    case 'PersistentVolume':
      spec.persistentVolumeReclaimPolicy ??= 'Retain';
      spec.volumeMode ??= 'Filesystem';
      o.status ??= { phase: 'Pending' };
      break;
    case 'PersistentVolumeClaim':
      spec.volumeMode ??= 'Filesystem';
      o.status ??= { phase: 'Pending' };
      break;
    case 'StorageClass': {
      const sc = o as Obj;
      sc.reclaimPolicy ??= 'Delete';
      sc.volumeBindingMode ??= 'Immediate';
      break;
    }
    case 'Secret': {
      const sec = o as Obj;
      sec.type ??= 'Opaque';
      // stringData is write-only: upstream merges it into data (over equal keys) and never stores it.
      if (sec.stringData && typeof sec.stringData === 'object') {
        const data = { ...obj(sec.data) } as Record<string, unknown>;
        for (const [k, v] of Object.entries(sec.stringData as Record<string, unknown>))
          data[k] = Buffer.from(String(v), 'utf8').toString('base64');
        sec.data = data;
        delete sec.stringData;
      }
      break;
    }
    case 'LimitRange':
      for (const item of arr(spec.limits)) defaultLimitRangeItem(item as LimitRangeItem);
      break;
    case 'CustomResourceDefinition': {
      if (!isCrd(r)) break;
      defaultCrdNames(spec);
      // No separate controller accepts names: a stored CRD is established at once.
      const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      o.status = {
        acceptedNames: spec.names ?? {},
        storedVersions: arr(spec.versions)
          .filter((v) => v.storage)
          .map((v) => v.name),
        conditions: [
          {
            type: 'NamesAccepted',
            status: 'True',
            reason: 'NoConflicts',
            message: 'no conflicts found',
            lastTransitionTime: t,
          },
          {
            type: 'Established',
            status: 'True',
            reason: 'InitialNamesAccepted',
            message: 'the initial names have been accepted',
            lastTransitionTime: t,
          },
        ],
      };
      break;
    }
  }
  // Kinds without a spec (ConfigMap, Secret, Event, custom ones without) must not grow an empty one.
  if (!hadSpec && Object.keys(spec).length === 0 && !['Namespace', 'Node'].includes(r.kind)) delete o.spec;
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

/** Rules that compare an update with the stored object: immutable fields, pod spec limits. */
export function validateUpdate(r: ResourceInfo, next: KubeObject, old: KubeObject): StatusCause[] {
  const causes: StatusCause[] = isCrd(r) ? validateCrdUpdate(next, old) : [];
  if (isRbac(r)) causes.push(...validateRbacUpdate(r, next, old));
  const ns = obj(next.spec);
  const os = obj(old.spec);
  if (
    r.group === 'apps' &&
    ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'].includes(r.kind) &&
    !same(ns.selector, os.selector)
  )
    causes.push(immutable('spec.selector', ns.selector));
  if (r.kind === 'Job' && !same(ns.selector, os.selector) && os.selector !== undefined)
    causes.push(immutable('spec.selector', ns.selector));
  if (r.kind === 'Service' && !r.group && os.clusterIP && ns.clusterIP && ns.clusterIP !== os.clusterIP)
    causes.push(immutable('spec.clusterIPs[0]', ns.clusterIP));
  if ((r.kind === 'ConfigMap' || r.kind === 'Secret') && !r.group && (old as Obj).immutable === true) {
    if (
      !same((next as Obj).data, (old as Obj).data) ||
      !same((next as Obj).binaryData, (old as Obj).binaryData)
    )
      causes.push(forbidden('data', 'field is immutable when `immutable` is set'));
  }
  if (
    r.kind === 'Pod' &&
    !r.group &&
    !same(mutablePodSpecStripped(ns, os.nodeName), mutablePodSpecStripped(os, os.nodeName))
  )
    causes.push(
      forbidden(
        'spec',
        'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      ),
    );
  if (r.kind === 'Pod' && !r.group) causes.push(...validateEphemeralContainersUpdate(ns, os));
  return causes;
}
