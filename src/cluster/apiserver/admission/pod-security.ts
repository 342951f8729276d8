/**
 * Pod Security admission: a namespace's `pod-security.kubernetes.io/{enforce,audit,warn}`
 * labels pick a level (privileged, baseline, restricted) and their `-version` labels a policy
 * version (`latest` when unset). A pod that fails `enforce` is refused with upstream's 403;
 * one that fails `warn` is let through with upstream's warning, which kubectl prints; one
 * that fails `audit` gets the `pod-security.kubernetes.io/audit-violations` annotation on its
 * request's audit events; the
 * workloads that make pods (Deployments, Jobs...) are checked for `warn` and `audit` only, as
 * upstream does, so they are never refused for their template. A namespace's labels must name
 * a known level and version; changing its enforce level warns of the pods already there that
 * the new level would refuse. Each mode is judged by its policy version's checks
 * (pod-security-checks.ts). `--admission-control-config-file` gives the levels of namespaces
 * without labels and the exemptions (pod-security-config.ts): a request in an exempt
 * namespace, by an exempt user, or for a pod of an exempt runtime class is not judged, and its
 * audit events say why (`pod-security.kubernetes.io/exempt`), as upstream's.
 */
import { decode } from '../../api/objects.js';
import type { KubeObject } from '../../api/selectors.js';
import { invalidError } from '../../api/status.js';
import type { StoreReader } from '../../store/store.js';
import { type AdmissionPlugin, type AdmissionRequest, forbidden, isCore } from './chain.js';
import { describe, evaluate, type Level, type PodMeta, type PodSpec } from './pod-security-checks.js';
import {
  defaultPodSecurityConfig,
  type PodSecurityConfig,
  type PodSecurityMode,
  podSecurityLevels,
  podSecurityModes,
  podSecurityVersion,
} from './pod-security-config.js';

const labelPrefix = 'pod-security.kubernetes.io/';
const levels = new Set<Level>(podSecurityLevels);

/** A pod template: what the checks read (the annotations and the spec). */
type Template = { metadata?: PodMeta; spec?: PodSpec & { runtimeClassName?: string } };
const podTemplate = (o: KubeObject) => (o.spec as { template?: Template } | undefined)?.template;

/** Where each kind that makes pods keeps its pod template. */
const templateOf: Record<string, (o: KubeObject) => Template | undefined> = {
  'apps/Deployment': podTemplate,
  'apps/ReplicaSet': podTemplate,
  'apps/StatefulSet': podTemplate,
  'apps/DaemonSet': podTemplate,
  'batch/Job': podTemplate,
  'batch/CronJob': (o) =>
    (o.spec as { jobTemplate?: { spec?: { template?: Template } } } | undefined)?.jobTemplate?.spec?.template,
  '/ReplicationController': podTemplate,
};

type Policy = { level: Level; version: string };

/**
 * A mode's policy from the namespace's labels, each of level and version falling back to the
 * configured default; undefined when that is privileged (nothing to check).
 */
function policy(
  labels: Record<string, string>,
  mode: PodSecurityMode,
  defaults: PodSecurityConfig['defaults'] = defaultPodSecurityConfig.defaults,
): Policy | undefined {
  const label = labels[`${labelPrefix}${mode}`] as Level | undefined;
  const level = label && levels.has(label) ? label : defaults[mode].level;
  if (level === 'privileged') return undefined;
  return { level, version: labels[`${labelPrefix}${mode}-version`] || defaults[mode].version };
}

const modes = podSecurityModes;

/** The checks a pod (or template) fails under a policy, at its version. */
const judge = (p: Policy, t: Template) => evaluate(p.level, t.spec ?? {}, p.version, t.metadata ?? {});

/** A 422 for each Pod Security label whose level or version is not one upstream accepts. */
function checkLabels(req: AdmissionRequest, labels: Record<string, string>): void {
  const causes = modes.flatMap((mode) => {
    const out: { field: string; message: string }[] = [];
    const level = labels[`${labelPrefix}${mode}`];
    if (level !== undefined && !levels.has(level as Level))
      out.push({
        field: `metadata.labels[${labelPrefix}${mode}]`,
        message: `Invalid value: "${level}": must be one of privileged, baseline, restricted`,
      });
    const version = labels[`${labelPrefix}${mode}-version`];
    if (version !== undefined && !podSecurityVersion.test(version))
      out.push({
        field: `metadata.labels[${labelPrefix}${mode}-version]`,
        message: `Invalid value: "${version}": must be "latest" or of the form "v1.x"`,
      });
    return out;
  });
  if (causes.length) throw invalidError('', 'Namespace', req.name, causes);
}

/**
 * A namespace whose enforce level or version changes: the pods already in it that the new
 * level would refuse are named in warnings, pods with the same violations together, as
 * upstream does (`kubectl label --dry-run=server` is how an operator previews a change).
 */
async function warnExistingPods(
  req: AdmissionRequest,
  store: StoreReader,
  config: PodSecurityConfig,
): Promise<void> {
  if (config.exemptions.namespaces.includes(req.name)) return;
  const labels = (o: KubeObject | undefined) => (o?.metadata?.labels ?? {}) as Record<string, string>;
  const next = policy(labels(req.object), 'enforce', config.defaults);
  const before = policy(labels(req.oldObject), 'enforce', config.defaults);
  if (!next || (before && before.level === next.level && before.version === next.version)) return;
  const groups = new Map<string, string[]>();
  for (const kv of (await store.list(`/registry/core/pods/${req.name}/`)).items) {
    const pod = decode(kv);
    const t = pod as Template;
    const runtimeClass = t.spec?.runtimeClassName;
    if (runtimeClass && config.exemptions.runtimeClasses.includes(runtimeClass)) continue;
    const vs = judge(next, t);
    if (!vs.length) continue;
    const key = vs.map((v) => v.reason).join(', ');
    groups.set(key, [...(groups.get(key) ?? []), String(pod.metadata?.name ?? '')]);
  }
  if (!groups.size) return;
  req.warn(
    `existing pods in namespace "${req.name}" violate the new PodSecurity enforce level "${next.level}:${next.version}"`,
  );
  const lines = [...groups].map(([reasons, pods]) => {
    const [first, ...rest] = pods.sort();
    return `${first}${rest.length ? ` (and ${rest.length} other pods)` : ''}: ${reasons}`;
  });
  for (const line of lines.sort()) req.warn(line);
}

/** Why a request is not judged (`namespace`, `user`, `runtimeClass`), or undefined when it is. */
function exemption(req: AdmissionRequest, spec: { runtimeClassName?: string }, config: PodSecurityConfig) {
  const e = config.exemptions;
  if (req.namespace && e.namespaces.includes(req.namespace)) return 'namespace';
  if (req.user && e.usernames.includes(req.user.name)) return 'user';
  if (spec.runtimeClassName && e.runtimeClasses.includes(spec.runtimeClassName)) return 'runtimeClass';
  return undefined;
}

/** The PodSecurity plugin; `config` is `--admission-control-config-file`'s (upstream's defaults without one). */
export function podSecurityAdmission(
  store: StoreReader,
  config: PodSecurityConfig = defaultPodSecurityConfig,
): AdmissionPlugin {
  return {
    name: 'PodSecurity',
    async validate(req: AdmissionRequest) {
      if (isCore(req, 'Namespace') && !req.subresource) {
        checkLabels(req, (req.object.metadata?.labels ?? {}) as Record<string, string>);
        if (req.operation === 'UPDATE') await warnExistingPods(req, store, config);
        return;
      }
      if (req.subresource || !req.namespace || req.operation !== 'CREATE') return;
      const r = req.resource;
      const isPod = r.kind === 'Pod' && !r.group;
      const template = templateOf[`${r.group}/${r.kind}`];
      if (!isPod && !template) return;
      const pod = (isPod ? (req.object as Template) : template?.(req.object)) ?? {};
      const exempt = exemption(req, pod.spec ?? {}, config);
      if (exempt) {
        req.annotate?.(`${labelPrefix}exempt`, exempt);
        return;
      }
      const nsKv = await store.get(`/registry/core/namespaces/${req.namespace}`);
      if (!nsKv) return;
      const labels = (decode(nsKv).metadata?.labels ?? {}) as Record<string, string>;
      const enforce = policy(labels, 'enforce', config.defaults);
      // Audit mode: the request's audit events say what it would violate, as upstream's do.
      const audit = policy(labels, 'audit', config.defaults);
      if (audit) {
        const vs = judge(audit, pod);
        if (vs.length)
          req.annotate?.(
            `${labelPrefix}audit-violations`,
            `would violate PodSecurity "${audit.level}:${audit.version}": ${describe(vs)}`,
          );
      }
      if (enforce) req.annotate?.(`${labelPrefix}enforce-policy`, `${enforce.level}:${enforce.version}`);
      if (isPod && enforce) {
        const vs = judge(enforce, pod);
        if (vs.length)
          throw forbidden(req, `violates PodSecurity "${enforce.level}:${enforce.version}": ${describe(vs)}`);
      }
      // A workload is warned of what its pods would meet at enforce, and at warn if that differs.
      const warnings = [...(isPod ? [] : [enforce]), policy(labels, 'warn', config.defaults)];
      const said = new Set<string>();
      for (const p of warnings) {
        if (!p) continue;
        const vs = judge(p, pod);
        const text = `would violate PodSecurity "${p.level}:${p.version}": ${describe(vs)}`;
        if (vs.length && !said.has(text)) req.warn(text);
        said.add(text);
      }
    },
  };
}
