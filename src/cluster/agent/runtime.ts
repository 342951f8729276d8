/**
 * The node agent's view of a container runtime: a small, CRI-like interface (after the
 * kubelet's `RuntimeService`). The agent's sync loop only ever talks to this; the engine
 * library implements it for real containers, and `berth sim` implements it in memory, so the
 * simulated nodes run the very same agent code.
 *
 * The contract every implementation keeps:
 * - Everything the agent needs to find its work again after a restart is in the runtime:
 *   sandboxes and containers carry the pod's uid, name and namespace and the container's
 *   name and attempt. The agent keeps no state of its own that a `kill -9` could lose.
 * - Calls are idempotent where CRI's are: stopping a stopped sandbox or container, or
 *   removing a missing one, succeeds.
 * - Errors are BerthErrors: `NotFound` for an unknown id, `InvalidArgument` for a config the
 *   runtime cannot run (the agent reports it as CreateContainerConfigError), anything else
 *   as the runtime's failure (the agent retries with back-off).
 */

import type { Duplex, Readable, Writable } from 'node:stream';
import type { ContainerSpecExtras } from './container-spec.js';
import type { PodDnsConfig } from './pod-dns.js';
import type { PodSandboxSpec } from './sandbox-config.js';

/** What identifies a pod in the runtime (CRI's PodSandboxMetadata). */
export interface PodRef {
  uid: string;
  name: string;
  namespace: string;
}

/** How to set up a pod's sandbox: its network and shared namespaces. */
export interface SandboxConfig {
  pod: PodRef;
  hostname: string;
  /** Host network: no sandbox namespace, the pod sees the node's interfaces. */
  hostNetwork: boolean;
  labels: Record<string, string>;
  /** The rest of the pod's sharing, /etc/hosts and cgroup (sandbox-config.ts). */
  podSpec?: PodSandboxSpec;
  /** The pod's resolv.conf (pod-dns.ts); without it, containers get the engine's default. */
  dns?: PodDnsConfig;
}

export type SandboxState = 'ready' | 'notready';

export interface SandboxStatus {
  id: string;
  pod: PodRef;
  state: SandboxState;
  /** When the sandbox was made (ms since the epoch). */
  createdAt: number;
  /** The pod's address on the node's pod network ('' with hostNetwork). */
  ip: string;
}

/** One container of a pod, as the runtime needs it (resolved by the agent from the pod spec). */
export interface ContainerConfig {
  /** The container's name in the pod spec. */
  name: string;
  /** Restarts of this container so far (CRI's attempt): a new container per restart. */
  attempt: number;
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  command: string[];
  args: string[];
  env: { name: string; value: string }[];
  workingDir?: string;
  /** `stdin`, `stdinOnce` and `tty` of the pod spec: kept open for `kubectl attach -i`. */
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  /** Whether it is one of the pod's init containers (they run to completion, in order). */
  init: boolean;
  labels: Record<string, string>;
  /** The pod's volumes as this container mounts them (CRI's `mounts`), prepared by the agent. */
  mounts?: Mount[];
  /** securityContext, cgroup values, termination message and pull credentials (container-spec.ts). */
  spec?: ContainerSpecExtras;
  /**
   * An ephemeral container's `targetContainerName`, resolved: the running container whose
   * PID namespace it joins (CRI's NamespaceMode TARGET).
   */
  targetContainerId?: string;
}

/** A host path bound into a container. */
export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
  /**
   * The volumeMount's mountPropagation: None (private, the default), HostToContainer
   * (rslave: mounts made on the host later show in the container) or Bidirectional (rshared).
   */
  propagation?: 'None' | 'HostToContainer' | 'Bidirectional';
}

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

export interface ContainerStatus {
  id: string;
  sandboxId: string;
  pod: PodRef;
  name: string;
  attempt: number;
  init: boolean;
  state: ContainerState;
  image: string;
  /** The image's id (`sha256:...`), as `imageID` in the pod status. */
  imageId: string;
  /** ms since the epoch; 0 when it did not happen yet. */
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  /** Why it exited, when the runtime knows better than the exit code (`OOMKilled`). */
  reason?: string;
  message?: string;
}

/** The runtime's name and version, for the node's `containerRuntimeVersion` (`berth://0.1`). */
export interface RuntimeVersion {
  name: string;
  version: string;
}

/** An image on the node, for the node status's `images`. */
export interface NodeImage {
  names: string[];
  sizeBytes: number;
  /** The image's id (`sha256:...`), as containers' `imageId` names it (image GC). */
  id?: string;
}

/** A terminal's size in character cells (kubectl's resize messages). */
export interface TerminalSize {
  rows: number;
  columns: number;
}

/** The streams of an exec or attach session (kubectl's stdin, stdout, stderr and resize channels). */
export interface SessionStreams {
  /** Input for the process; its end closes the process's stdin. */
  stdin?: Readable;
  stdout?: Writable;
  /** Absent with a TTY: a terminal has one output stream. */
  stderr?: Writable;
  tty: boolean;
  /** The terminal's size before the process starts (TTY only). */
  initialSize?: TerminalSize;
  /** Subscribes to terminal size changes (TTY only); returns the unsubscriber. */
  onResize?: (fn: (size: TerminalSize) => void) => () => void;
  /** Ends the session (the client went away): exec kills its process, attach detaches. */
  signal?: AbortSignal;
}

/** Streams for logs, exec, attach and port-forward (the agent endpoint's, which the API server proxies). */
export interface ContainerStreamsHooks {
  /** Runs `cmd` in a running container with the session's streams; resolves with its exit code. */
  exec?(containerId: string, cmd: string[], io: SessionStreams): Promise<number>;
  /** Connects to a running container's own stdio until it exits or `io.signal` detaches. */
  attach?(containerId: string, io: SessionStreams): Promise<void>;
  /**
   * Connects to `port` on the loopback address of the sandbox's network namespace (where
   * kubectl port-forward goes); resolves with the connected stream.
   */
  portForward?(sandboxId: string, port: number, signal?: AbortSignal): Promise<Duplex>;
  /** Writes the container's log (all of it, or the last `tail` lines; `follow` keeps writing). */
  logs?(containerId: string, out: NodeJS.WritableStream, opts: LogRequest): Promise<void>;
}

/** What part of a log to write, and how (the kubelet's PodLogOptions). */
export interface LogRequest {
  follow?: boolean;
  tail?: number;
  /** Only entries at or after this time (ms since the epoch). */
  since?: number;
  /** Prefix each line with its RFC 3339 time. */
  timestamps?: boolean;
  /** Stop after this many bytes. */
  limitBytes?: number;
  signal?: AbortSignal;
}

export interface PodRuntime extends ContainerStreamsHooks {
  version(): Promise<RuntimeVersion>;

  /** Makes and starts a pod's sandbox (its network namespace, set up once); returns its id. */
  runPodSandbox(config: SandboxConfig, signal?: AbortSignal): Promise<string>;
  /** Stops a sandbox: tears down its network; containers in it must already be stopped. */
  stopPodSandbox(id: string): Promise<void>;
  /** Removes a stopped sandbox and everything left of it. */
  removePodSandbox(id: string): Promise<void>;
  /** The sandboxes on the node, or only those of one pod. */
  listPodSandboxes(filter?: { podUid?: string }): Promise<SandboxStatus[]>;

  /** Makes a container in a sandbox (pulling its image as the policy says); returns its id. */
  createContainer(sandboxId: string, config: ContainerConfig, signal?: AbortSignal): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceSeconds`. Resolves once it has exited. */
  stopContainer(id: string, graceSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  /** The containers on the node (every attempt the runtime still keeps), or one pod's. */
  listContainers(filter?: { podUid?: string }): Promise<ContainerStatus[]>;
  containerStatus(id: string): Promise<ContainerStatus>;

  /** A running container's CPU time and memory working set (resource metrics), if it can tell. */
  containerUsage?(id: string): Promise<{ cpuNanos: number; workingSetBytes: number } | undefined>;
  /** Bytes a container holds on disk: its writable layer and its log (ephemeral storage). */
  containerDiskUsage?(id: string): Promise<number | undefined>;

  /** The images present on the node. */
  listImages(): Promise<NodeImage[]>;
  /** Whether the image a container names is on the node (for the Pulling and Pulled events). */
  imagePresent?(image: string): Promise<boolean>;
  /** Removes an image no container uses (image GC); a Conflict error when one does. */
  removeImage?(id: string): Promise<void>;

  /**
   * Calls `fn` with a pod whenever one of its containers changes state on its own (exits,
   * is killed by the kernel): the agent's prompt to sync that pod (CRI's container events,
   * the kubelet's PLEG). Returns the unsubscriber.
   */
  watchEvents(fn: (pod: PodRef) => void): () => void;
}

/** Labels the agent puts on every container (the dockershim's, so `berth ps` shows pods). */
export const PodLabels = {
  name: 'io.kubernetes.pod.name',
  namespace: 'io.kubernetes.pod.namespace',
  uid: 'io.kubernetes.pod.uid',
  container: 'io.kubernetes.container.name',
} as const;
