/**
 * The defaults Kubernetes' API server fills in on create (and keeps on update), so reads show
 * the same fields a client of a real cluster sees. Defaults that depend on the server's
 * configuration or on other objects come from admission plugins instead.
 */
import { qosClass } from '../agent/qos.js';
import { defaultCrdNames, isCrd } from './crd-validation.js';
import { arr, type Obj, obj } from './field-values.js';
import { defaultLimitRangeItem, type LimitRangeItem } from './limit-range.js';
import { metaTime } from './meta-time.js';
import type { ResourceInfo } from './resources.js';
import type { KubeObject } from './selectors.js';
import { defaultNetworkPolicy } from './validate-network-policy.js';

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
      // The failed-node tolerations come from the DefaultTolerationSeconds admission plugin.
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
      const t = metaTime();
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
