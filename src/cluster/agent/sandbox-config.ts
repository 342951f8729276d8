/**
 * What a pod's sandbox shares beyond its network, from the pod spec: the host's PID and IPC
 * namespaces or the pod's own (and one PID namespace for all its containers with
 * shareProcessNamespace), the names in its managed /etc/hosts, and its cgroup under
 * `kubepods` by QoS class.
 */
import type { KubeObject } from '../client/kube-client.js';
import { type CgroupValues, podCgroup, podCgroupPath, type QosClass, qosClass } from './qos.js';
import type { SandboxConfig } from './runtime.js';

export interface PodSandboxSpec {
  hostPID: boolean;
  hostIPC: boolean;
  shareProcessNamespace: boolean;
  /** With a subdomain, /etc/hosts names the pod `hostname.subdomain.NAMESPACE.svc.DOMAIN` too. */
  subdomain?: string;
  clusterDomain: string;
  hostAliases: { ip: string; hostnames: string[] }[];
  qos: QosClass;
  /** The pod cgroup (cgroupfs form) and its values. */
  cgroupPath: string;
  cgroup: CgroupValues;
}

/** The pod's hostname: spec.hostname, else its name cut to 63 characters, as the kubelet does. */
export function podHostname(pod: KubeObject): string {
  const h = (pod.spec?.hostname as string | undefined) || (pod.metadata.name ?? '');
  return h.slice(0, 63).replace(/[-.]+$/, '');
}

/** The sandbox config for a pod. */
export function sandboxConfig(
  pod: KubeObject,
  opts: { clusterDomain?: string; podPidsLimit?: number } = {},
): SandboxConfig {
  const spec = pod.spec ?? {};
  const uid = pod.metadata.uid ?? '';
  const qos = qosClass(pod);
  return {
    pod: { uid, name: pod.metadata.name ?? '', namespace: pod.metadata.namespace ?? '' },
    hostname: podHostname(pod),
    hostNetwork: !!spec.hostNetwork,
    labels: { ...(pod.metadata.labels ?? {}) },
    podSpec: {
      hostPID: !!spec.hostPID,
      hostIPC: !!spec.hostIPC,
      shareProcessNamespace: !!spec.shareProcessNamespace && !spec.hostPID,
      ...(spec.subdomain ? { subdomain: String(spec.subdomain) } : {}),
      clusterDomain: opts.clusterDomain ?? 'cluster.local',
      hostAliases: ((spec.hostAliases ?? []) as { ip?: string; hostnames?: string[] }[])
        .filter((a) => a.ip)
        .map((a) => ({ ip: a.ip!, hostnames: a.hostnames ?? [] })),
      qos,
      cgroupPath: podCgroupPath(uid, qos),
      cgroup: podCgroup(pod, opts.podPidsLimit),
    },
  };
}

/** The fixed opening of a pod's own /etc/hosts, the kubelet's lines: localhost and the IPv6 names. */
export const kubeletHostsLines: readonly string[] = [
  '# Kubernetes-managed hosts file.',
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'fe00::0\tip6-mcastprefix',
  'fe00::1\tip6-allnodes',
  'fe00::2\tip6-allrouters',
];

/**
 * The pod's /etc/hosts as the kubelet writes it (managedHostsFileContent): localhost and the
 * IPv6 names, the pod's address with its names, then the hostAliases. With the host's network
 * the node's own file stands in for the first part.
 */
export function hostsFile(o: {
  ip: string;
  hostname: string;
  namespace: string;
  spec: PodSandboxSpec;
  /** The node's /etc/hosts, for host-network pods. */
  nodeHosts?: string;
}): string {
  let text: string;
  if (o.nodeHosts !== undefined) text = `# Kubernetes-managed hosts file (host network).\n${o.nodeHosts}`;
  else {
    const names = o.spec.subdomain
      ? `${o.hostname}.${o.spec.subdomain}.${o.namespace}.svc.${o.spec.clusterDomain}\t${o.hostname}`
      : o.hostname;
    text = [...kubeletHostsLines, ...(o.ip ? [`${o.ip}\t${names}`] : []), ''].join('\n');
  }
  if (o.spec.hostAliases.length)
    text += `\n# Entries added by HostAliases.\n${o.spec.hostAliases.map((a) => `${a.ip}\t${a.hostnames.join('\t')}\n`).join('')}`;
  return text;
}
