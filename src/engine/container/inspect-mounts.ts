/**
 * A container's mounts in the two shapes of Docker's inspect: `HostConfig.Mounts`, the
 * `--mount` specs as given (Docker's mount.Mount, empty fields left out), and the top-level
 * `Mounts`, every bind, volume and `--mount` tmpfs as mounted (Docker's MountPoint; a
 * `--tmpfs` shows only in `HostConfig.Tmpfs`, as in Docker).
 */
import type { ContainerConfig, MountSpec, TmpfsSpec } from './config.js';

/** `size=N` and `mode=OCTAL` of a tmpfs as Docker's TmpfsOptions (SizeBytes, Mode as a number). */
function tmpfsOptions(t: TmpfsSpec): Record<string, number> | undefined {
  const o: Record<string, number> = {};
  for (const opt of t.options) {
    const [k, v] = opt.split('=', 2);
    if (k === 'size' && v && /^\d+$/.test(v)) o.SizeBytes = Number(v);
    if (k === 'mode' && v && /^[0-7]+$/.test(v)) o.Mode = Number.parseInt(v, 8);
  }
  return Object.keys(o).length ? o : undefined;
}

function mountSpec(m: MountSpec): Record<string, unknown> {
  const bind = {
    ...(m.propagation ? { Propagation: m.propagation } : {}),
    ...(m.nonRecursive ? { NonRecursive: true } : {}),
  };
  return {
    Type: m.type,
    // An anonymous volume was given without a source; its generated name is not part of the spec.
    ...(m.anonymous ? {} : { Source: m.source }),
    Target: m.destination,
    ...(m.readOnly ? { ReadOnly: true } : {}),
    ...(m.type === 'bind' && Object.keys(bind).length ? { BindOptions: bind } : {}),
    ...(m.type === 'volume' && m.noCopy ? { VolumeOptions: { NoCopy: true } } : {}),
  };
}

/** HostConfig.Mounts: what `--mount` asked for, in order (binds and volumes, then tmpfs); null without any. */
export function hostConfigMounts(c: ContainerConfig): Record<string, unknown>[] | null {
  const out = [
    ...c.mounts.filter((m) => m.viaMount).map(mountSpec),
    ...c.tmpfs
      .filter((t) => t.viaMount)
      .map((t) => {
        const options = tmpfsOptions(t);
        return {
          Type: 'tmpfs',
          Target: t.destination,
          ...(t.options.includes('ro') ? { ReadOnly: true } : {}),
          ...(options ? { TmpfsOptions: options } : {}),
        };
      }),
  ];
  return out.length ? out : null;
}

/** The top-level Mounts; `volumePath` gives a volume's folder on the host. */
export function mountPoints(
  c: ContainerConfig,
  volumePath: (name: string) => string,
): Record<string, unknown>[] {
  const mounted = c.mounts.map((m) =>
    m.type === 'bind'
      ? {
          Type: 'bind',
          Source: m.source,
          Destination: m.destination,
          Mode: m.readOnly ? 'ro' : '',
          RW: !m.readOnly,
          Propagation: m.propagation ?? 'rprivate',
        }
      : {
          Type: 'volume',
          Name: m.source,
          Source: volumePath(m.source),
          Destination: m.destination,
          Driver: 'local',
          Mode: m.readOnly ? 'ro' : '',
          RW: !m.readOnly,
          Propagation: '',
        },
  );
  const tmpfs = c.tmpfs
    .filter((t) => t.viaMount)
    .map((t) => ({
      Type: 'tmpfs',
      Source: '',
      Destination: t.destination,
      Mode: '',
      RW: !t.options.includes('ro'),
      Propagation: '',
    }));
  return [...mounted, ...tmpfs];
}
