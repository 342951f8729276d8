/**
 * The engine runtime's share of the pod spec beyond the network: a sandbox's pod cgroup,
 * its pinned IPC and UTS namespaces (and the holder of a shared PID namespace), its managed
 * /etc/hosts and /etc/hostname; and for each container the engine options that carry its
 * securityContext, cgroup values, namespaces, termination message file and pull credentials.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CreateOptions } from '../../engine/container/create.js';
import {
  type NamespaceRequest,
  type PinnedNamespaces,
  removeNamespaces,
} from '../../engine/network/netns.js';
import { ensurePodCgroup, removePodCgroup } from './cgroups.js';
import { ConfigError } from './config-error.js';
import { startPidHolder, stopPidHolder } from './pid-holder.js';
import { credentialFor } from './pull-secrets.js';
import type { ContainerConfig, SandboxConfig } from './runtime.js';
import { hostsFile } from './sandbox-config.js';
import { engineUser } from './security-context.js';

/** What a sandbox record keeps of these parts, to join them and to undo them. */
export interface SandboxExtras {
  hostname: string;
  /** Where the sandbox's files live (hosts, termination messages). */
  dir: string;
  hostNetwork: boolean;
  hostIPC?: boolean;
  hostPID?: boolean;
  ipcNs?: string;
  utsNs?: string;
  /** The catatonit holding a shared PID namespace (shareProcessNamespace). */
  pidHolder?: number;
  cgroupPath?: string;
}

/**
 * Sets up the sandbox's cgroup, PID holder and /etc/hosts (after its network, so the file has
 * the pod's address), and records `ns`, its namespaces pinned as {@link sandboxNamespaces}
 * says. On failure, what was done is undone, those namespaces included, before the error goes on.
 */
export async function setUpSandbox(
  dir: string,
  config: SandboxConfig,
  ip: string,
  ns: PinnedNamespaces,
  cgroupRoot = '',
): Promise<SandboxExtras> {
  const spec = config.podSpec;
  const x: SandboxExtras = { hostname: config.hostname, dir, hostNetwork: config.hostNetwork };
  if (ns.ipc) x.ipcNs = ns.ipc;
  if (ns.uts) x.utsNs = ns.uts;
  mkdirSync(join(dir, 'termination'), { recursive: true, mode: 0o755 });
  try {
    if (spec) {
      x.hostIPC = spec.hostIPC;
      x.hostPID = spec.hostPID;
      x.cgroupPath = `${cgroupRoot.replace(/\/+$/, '')}${spec.cgroupPath}`;
      ensurePodCgroup(x.cgroupPath, spec.cgroup);
      if (spec.shareProcessNamespace) x.pidHolder = await startPidHolder();
      writeFileSync(
        join(dir, 'hosts'),
        hostsFile({
          ip,
          hostname: config.hostname,
          namespace: config.pod.namespace,
          spec,
          ...(config.hostNetwork ? { nodeHosts: readIf('/etc/hosts') } : {}),
        }),
        { mode: 0o644 },
      );
      // One /etc/hostname for the pod, as for /etc/hosts (CRI runtimes keep both per sandbox):
      // the engine would otherwise write a file for each of its containers.
      writeFileSync(join(dir, 'hostname'), `${config.hostname}\n`, { mode: 0o644 });
    }
  } catch (e) {
    await tearDownSandbox(x);
    throw e;
  }
  return x;
}

const readIf = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : '');

/**
 * The namespaces a pod's sandbox pins, all made by one process: its network namespace (unless
 * hostNetwork), and with a pod spec its IPC namespace (unless hostIPC) and UTS namespace (unless
 * hostNetwork), which its containers join as a pause container's; each container sets the pod's
 * hostname in it as it starts.
 */
export function sandboxNamespaces(config: SandboxConfig): NamespaceRequest {
  const spec = config.podSpec;
  return {
    net: !config.hostNetwork,
    ipc: !!spec && !spec.hostIPC,
    uts: !!spec && !config.hostNetwork,
    // Out of the node's mount table, which every runc copies and reads: three pins per pod.
    privatePins: true,
  };
}

/**
 * Ends what {@link setUpSandbox} made that lives outside files: the PID holder, and the
 * pinned namespaces, with the sandbox's network namespace `netns` when given (unpinned together).
 */
export async function tearDownSandbox(x: SandboxExtras, netns = ''): Promise<void> {
  if (x.pidHolder) stopPidHolder(x.pidHolder);
  await removeNamespaces([netns, x.ipcNs ?? '', x.utsNs ?? ''].filter(Boolean));
}

/** Removes the sandbox's files and its pod cgroup (its containers are gone by then). */
export function removeSandboxFiles(x: SandboxExtras): void {
  if (x.cgroupPath) removePodCgroup(x.cgroupPath);
  rmSync(x.dir, { recursive: true, force: true });
}

/** The host file behind a container's terminationMessagePath. */
export const terminationFile = (x: Pick<SandboxExtras, 'dir'>, name: string, attempt: number) =>
  join(x.dir, 'termination', `${name}-${attempt}`);

/** The kubelet's Localhost seccomp profiles live under its root; Berth's agent reads the same folder. */
export const defaultSeccompDir = '/var/lib/kubelet/seccomp';

/**
 * The engine options for container `c` of the sandbox `x`; `imageUser` is the image's USER
 * when known (it decides the user when only runAsGroup is given).
 */
export function engineOptions(
  x: SandboxExtras,
  c: ContainerConfig,
  o: { imageUser?: string; seccompDir?: string },
): Partial<CreateOptions> {
  const s = c.spec;
  if (!s) return {};
  const sec = s.security;
  const res = s.resources;
  const user = engineUser(sec, o.imageUser ?? '');
  let seccomp: string | undefined;
  if (sec.seccomp.type === 'Unconfined') seccomp = 'unconfined';
  else if (sec.seccomp.type === 'Localhost') {
    const file = join(o.seccompDir ?? defaultSeccompDir, sec.seccomp.localhostProfile);
    if (!existsSync(file))
      throw new ConfigError(`Cannot load seccomp profile "${sec.seccomp.localhostProfile}": no file ${file}`);
    seccomp = readFileSync(file, 'utf8');
  }
  const msg = terminationFile(x, c.name, c.attempt);
  if (!existsSync(msg)) writeFileSync(msg, '');
  // Any user the container runs as may write its message, as with the kubelet's file.
  chmodSync(msg, 0o666);
  return {
    ...(user !== undefined ? { user } : {}),
    ...(sec.supplementalGroups.length ? { groupAdd: sec.supplementalGroups.map(String) } : {}),
    readOnly: sec.readOnlyRootFilesystem,
    // runc mounts the root in the container's namespace: no mount(8) per container and no
    // overlay per container in the node's mount table, which every runc copies and reads.
    privateRootfs: true,
    privileged: sec.privileged,
    capAdd: sec.capAdd,
    capDrop: sec.capDrop,
    noNewPrivileges: sec.noNewPrivileges,
    ...(seccomp !== undefined ? { seccomp } : {}),
    ...(Object.keys(sec.sysctls).length ? { sysctls: sec.sysctls } : {}),
    ...(x.cgroupPath ? { cgroupParent: x.cgroupPath } : {}),
    cpuShares: res.cpuShares,
    ...(res.cpuQuota ? { cpuQuota: res.cpuQuota, cpuPeriod: res.cpuPeriod ?? 100_000 } : {}),
    ...(res.memoryLimit ? { memory: res.memoryLimit } : {}),
    ...(x.hostIPC ? { ipc: 'host' } : x.ipcNs ? { ipc: `ns:${x.ipcNs}` } : {}),
    ...(x.hostNetwork ? { uts: 'host' } : x.utsNs ? { uts: `ns:${x.utsNs}` } : {}),
    ...(x.hostPID ? { pid: 'host' } : x.pidHolder ? { pid: `ns:/proc/${x.pidHolder}/ns/pid` } : {}),
    mounts: [
      ...(existsSync(join(x.dir, 'hosts'))
        ? [
            {
              type: 'bind' as const,
              source: join(x.dir, 'hosts'),
              destination: '/etc/hosts',
              readOnly: false,
            },
          ]
        : []),
      // Read-only with a read-only root, as the engine's own file would be (a sandbox made
      // before the pod had its own file has none: the engine writes one then).
      ...(existsSync(join(x.dir, 'hostname'))
        ? [
            {
              type: 'bind' as const,
              source: join(x.dir, 'hostname'),
              destination: '/etc/hostname',
              readOnly: sec.readOnlyRootFilesystem,
            },
          ]
        : []),
      { type: 'bind' as const, source: msg, destination: s.terminationMessagePath, readOnly: false },
    ],
  };
}

/** The credentials for pulling the container's image, from its pod's imagePullSecrets. */
export function pullCredentialsOf(c: ContainerConfig): { username: string; password: string } | undefined {
  const cred = credentialFor(c.image, c.spec?.pullCredentials ?? []);
  return cred ? { username: cred.username, password: cred.password } : undefined;
}
