/**
 * A volumeMount's mountPropagation as the container runtime gets it (the kubelet's
 * `translateMountPropagation` and containerd's checks): None is a private bind (`rprivate`),
 * HostToContainer a slave of the host's mount (`rslave`: mounts made under the host path
 * later show in the container), Bidirectional a shared one (`rshared`: the container's
 * mounts show on the host too), for privileged containers only. A slave or shared bind
 * only works when the host path's own mount is shared (or, for HostToContainer, a slave):
 * otherwise nothing would ever propagate, so the container is refused with the reason.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error.js';

export type MountPropagation = 'None' | 'HostToContainer' | 'Bidirectional';

// biome-ignore lint/suspicious/noExplicitAny: a container and a volumeMount of the pod spec
type Spec = any;

/** The mode a volumeMount asks for; Bidirectional in an unprivileged container is refused. */
export function mountPropagationOf(c: Spec, m: Spec): MountPropagation {
  const mode = (m.mountPropagation ?? 'None') as string;
  if (mode !== 'None' && mode !== 'HostToContainer' && mode !== 'Bidirectional')
    throw new ConfigError(`invalid mountPropagation "${mode}" of volumeMount "${m.name}"`);
  if (mode === 'Bidirectional' && c.securityContext?.privileged !== true)
    throw new ConfigError(
      `volumeMount "${m.name}" of container "${c.name}": Bidirectional mount propagation is available only to privileged containers`,
    );
  return mode;
}

/** One line of /proc/self/mountinfo: where a mount sits and its propagation tags. */
export interface MountInfo {
  mountPoint: string;
  /** The optional fields: `shared:N`, `master:N`, `propagate_from:N`, `unbindable`. */
  tags: string[];
}

const unescapeOctal = (p: string) =>
  p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (f.length < 7 || sep < 6) continue;
    out.push({ mountPoint: unescapeOctal(f[4]!), tags: f.slice(6, sep) });
  }
  return out;
}

/** The mount holding `path`: the one with the longest mount point above it (the last such). */
export function mountOf(path: string, mounts: MountInfo[]): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of mounts) {
    const p = m.mountPoint;
    const above = p === '/' || path === p || path.startsWith(`${p}/`);
    if (above && (!best || p.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/**
 * The OCI bind option for `mode` on `hostPath`, after checking that the host path's mount
 * can propagate: shared for Bidirectional, shared or a slave for HostToContainer (the
 * messages are containerd's).
 */
export function ociPropagation(
  hostPath: string,
  mode: Exclude<MountPropagation, 'None'>,
  mountInfo: () => string = () => readFileSync('/proc/self/mountinfo', 'utf8'),
): 'rslave' | 'rshared' {
  const m = mountOf(hostPath, parseMountInfo(mountInfo()));
  const shared = !!m?.tags.some((t) => t.startsWith('shared:'));
  const slave = !!m?.tags.some((t) => t.startsWith('master:'));
  if (mode === 'Bidirectional') {
    if (!shared)
      throw new ConfigError(
        `path "${hostPath}" is mounted on "${m?.mountPoint ?? '/'}" but it is not a shared mount (needed for mountPropagation Bidirectional)`,
      );
    return 'rshared';
  }
  if (!shared && !slave)
    throw new ConfigError(
      `path "${hostPath}" is mounted on "${m?.mountPoint ?? '/'}" but it is not a shared or slave mount (needed for mountPropagation HostToContainer)`,
    );
  return 'rslave';
}
