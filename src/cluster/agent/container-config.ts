/**
 * Turns a container of a pod spec into what the runtime runs: the command, args and
 * environment resolved the kubelet's way (`value`, `valueFrom` configMapKeyRef, secretKeyRef
 * and fieldRef, `envFrom`; `$(VAR)` references to earlier variables expanded).
 */
import type { KubeObject } from '../client/kube-client.js';
import { ConfigError } from './config-error.js';
import { containerSpec } from './container-spec.js';
import { type ContainerConfig, PodLabels } from './runtime.js';

export { ConfigError };

/** Where ConfigMaps and Secrets are read from (the API, or a test's map). */
export interface ObjectSource {
  configMap(namespace: string, name: string): Promise<KubeObject | undefined>;
  secret(namespace: string, name: string): Promise<KubeObject | undefined>;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

interface EnvFrom {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}

/** `metadata.labels['x']` and the other downward API fields a fieldRef may name. */
export function fieldValue(pod: KubeObject, nodeIP: string, podIP: string, path: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return pod.metadata[m[1] as 'labels' | 'annotations']?.[m[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return nodeIP;
    case 'status.podIP':
      return podIP;
    default:
      throw new ConfigError(`Unsupported fieldRef fieldPath "${path}"`);
  }
}

/** Expands `$(NAME)` from `vars`; `$$` escapes, unknown references stay as written. */
export function expand(s: string, vars: Map<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name?: string) =>
    all === '$$' ? '$' : name !== undefined && vars.has(name) ? vars.get(name)! : all,
  );
}

const decodeSecret = (v: string) => Buffer.from(v, 'base64').toString('utf8');

async function keyOf(
  source: ObjectSource,
  kind: 'configmap' | 'secret',
  ns: string,
  ref: { name: string; key: string; optional?: boolean },
): Promise<string | undefined> {
  const obj = kind === 'configmap' ? await source.configMap(ns, ref.name) : await source.secret(ns, ref.name);
  if (!obj) {
    if (ref.optional) return undefined;
    throw new ConfigError(`${kind} "${ref.name}" not found`);
  }
  const data = (obj as { data?: Record<string, string> }).data ?? {};
  if (kind === 'secret') {
    if (ref.key in data) return decodeSecret(data[ref.key]!);
  } else if (ref.key in data) return data[ref.key];
  if (ref.optional) return undefined;
  throw new ConfigError(
    `couldn't find key ${ref.key} in ${kind === 'secret' ? 'Secret' : 'ConfigMap'} ${ns}/${ref.name}`,
  );
}

/** The environment of one container, in order, later names replacing earlier ones. */
export async function resolveEnv(
  pod: KubeObject,
  // biome-ignore lint/suspicious/noExplicitAny: a container of the pod spec
  c: any,
  source: ObjectSource,
  ips: { nodeIP: string; podIP: string },
): Promise<{ name: string; value: string }[]> {
  const ns = pod.metadata.namespace ?? 'default';
  const vars = new Map<string, string>();
  for (const from of (c.envFrom ?? []) as EnvFrom[]) {
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const kind = from.configMapRef ? 'configmap' : 'secret';
    const obj =
      kind === 'configmap' ? await source.configMap(ns, ref.name) : await source.secret(ns, ref.name);
    if (!obj) {
      if (ref.optional) continue;
      throw new ConfigError(`${kind} "${ref.name}" not found`);
    }
    for (const [k, v] of Object.entries((obj as { data?: Record<string, string> }).data ?? {}))
      vars.set(`${from.prefix ?? ''}${k}`, kind === 'secret' ? decodeSecret(v) : v);
  }
  for (const e of (c.env ?? []) as EnvVar[]) {
    let v: string | undefined;
    if (e.valueFrom?.fieldRef) v = fieldValue(pod, ips.nodeIP, ips.podIP, e.valueFrom.fieldRef.fieldPath);
    else if (e.valueFrom?.configMapKeyRef)
      v = await keyOf(source, 'configmap', ns, e.valueFrom.configMapKeyRef);
    else if (e.valueFrom?.secretKeyRef) v = await keyOf(source, 'secret', ns, e.valueFrom.secretKeyRef);
    else v = expand(e.value ?? '', vars);
    if (v !== undefined) vars.set(e.name, v);
  }
  return [...vars].map(([name, value]) => ({ name, value }));
}

/** The runtime config of container `c` (attempt `attempt`) of `pod`. */
export async function containerConfig(
  pod: KubeObject,
  // biome-ignore lint/suspicious/noExplicitAny: a container of the pod spec
  c: any,
  opts: { attempt: number; init: boolean; source: ObjectSource; nodeIP: string; podIP: string },
): Promise<ContainerConfig> {
  const env = await resolveEnv(pod, c, opts.source, opts);
  const vars = new Map(env.map((e) => [e.name, e.value]));
  const tag = String(c.image ?? '').includes(':') ? '' : ':latest';
  return {
    name: c.name,
    attempt: opts.attempt,
    image: c.image,
    imagePullPolicy:
      c.imagePullPolicy ?? (tag || String(c.image).endsWith(':latest') ? 'Always' : 'IfNotPresent'),
    command: ((c.command ?? []) as string[]).map((s) => expand(s, vars)),
    args: ((c.args ?? []) as string[]).map((s) => expand(s, vars)),
    env,
    ...(c.workingDir ? { workingDir: c.workingDir as string } : {}),
    ...(c.stdin ? { stdin: true } : {}),
    ...(c.stdinOnce ? { stdinOnce: true } : {}),
    ...(c.tty ? { tty: true } : {}),
    init: opts.init,
    spec: await containerSpec(pod, c, opts.source),
    labels: {
      [PodLabels.name]: pod.metadata.name ?? '',
      [PodLabels.namespace]: pod.metadata.namespace ?? '',
      [PodLabels.uid]: pod.metadata.uid ?? '',
      [PodLabels.container]: c.name,
    },
  };
}
