/**
 * One node's level-triggered pod sync (the kubelet's `SyncPod`, `SyncTerminatingPod` and
 * housekeeping): given a pod as the API has it and what the runtime reports for it, do the
 * next steps towards the spec (a sandbox, init containers in order, then the containers,
 * restarts as restartPolicy says with CrashLoopBackOff's back-off) or towards its deletion
 * (containers stopped within the grace period, sandbox removed, then the pod deleted for good),
 * and write the status when it differs from what is stored. Every decision is taken from the
 * runtime's state, so a restarted agent carries on where the last one stopped.
 */
import { BerthError, type ErrorCode, isNotFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import type { KubeObject } from '../client/kube-client.js';
import { Backoff } from './backoff.js';
import { ConfigError, containerConfig, type ObjectSource } from './container-config.js';
import { rejectNewPod, reportEvicted } from './eviction/pod-eviction.js';
import { type ClusterDnsSettings, podDnsConfig } from './pod-dns.js';
import { attemptsByName, type ContainerNote, podStatus, statusMatches } from './pod-status.js';
import { runHook } from './probes/lifecycle-hooks.js';
import type { ProbeManager } from './probes/probe-manager.js';
import type { ContainerConfig, ContainerStatus, PodRef, PodRuntime, SandboxStatus } from './runtime.js';
import { sandboxConfig } from './sandbox-config.js';
import type { PodVolumes } from './volumes/manager.js';
import { VolumeError } from './volumes/volume-error.js';

/**
 * Errors of a pull that make a container ErrImagePull and then ImagePullBackOff, with the
 * pull backoff between tries: a missing image or tag, refused credentials, and a registry
 * that cannot be reached (a typo in the host, no network), which upstream treats the same.
 */
const pullFailures = new Set<ErrorCode>([
  'NotFound',
  'Unauthenticated',
  'PermissionDenied',
  'Unavailable',
  'DeadlineExceeded',
]);

const log = logger('agent');

/** An image that is not on the node, for a container whose imagePullPolicy is Never. */
class NeverPullError extends Error {
  constructor(image: string) {
    super(`Container image "${image}" is not present with pull policy of Never`);
  }
}

/** The API calls a pod sync makes. */
export interface PodApi {
  patchStatus(namespace: string, name: string, status: Record<string, unknown>): Promise<void>;
  /** Deletes the pod for good (grace period 0), only if it is still the one with `uid`. */
  deletePod(namespace: string, name: string, uid: string): Promise<void>;
}

export interface PodSyncerOptions {
  nodeName: string;
  nodeIP: string;
  runtime: PodRuntime;
  api: PodApi;
  objects: ObjectSource;
  /** The pods' volumes (none: volumes are ignored, as on simulated nodes). */
  volumes?: PodVolumes;
  /** The clock (ms): tests drive back-off with their own. */
  now?: () => number;
  /** The probes of running containers (without: a running container is ready). */
  probes?: ProbeManager;
  /** Records an event about a pod (the kubelet's Created, Started, Killing, BackOff...). */
  event?: PodEventSink;
  /** The cluster DNS pods get (without: the runtime's default resolv.conf). */
  dns?: ClusterDnsSettings;
  /** Why a pod new to the node may not start now (node pressure), or undefined to admit it. */
  admit?: (pod: KubeObject) => string | undefined;
}

export type PodEventSink = (pod: PodRef, type: 'Normal' | 'Warning', reason: string, message: string) => void;

/** What a sync asks of its caller: to run it again after this long (a back-off ending). */
export interface SyncResult {
  retryAfterMs?: number;
}

// biome-ignore lint/suspicious/noExplicitAny: a container of the pod spec
type SpecContainer = any;

/** Every container of the pod spec: init containers, containers, ephemeral containers. */
const specContainers = (pod: KubeObject): SpecContainer[] => [
  ...(pod.spec?.initContainers ?? []),
  ...(pod.spec?.containers ?? []),
  ...(pod.spec?.ephemeralContainers ?? []),
];

const refOf = (pod: KubeObject): PodRef => ({
  uid: pod.metadata.uid ?? '',
  name: pod.metadata.name ?? '',
  namespace: pod.metadata.namespace ?? '',
});

function shouldRestart(policy: string, c: ContainerStatus): boolean {
  if (policy === 'Always') return true;
  if (policy === 'OnFailure') return c.exitCode !== 0;
  return false;
}

export class PodSyncer {
  readonly nodeName: string;
  private readonly runtime: PodRuntime;
  private readonly now: () => number;
  private readonly crash: Backoff;
  private readonly pulls: Backoff;
  /** Retries of volumes that could not be set up: 1 s doubling to 2 min, as the kubelet's mounts. */
  private readonly volumeRetry: Backoff;
  /** Why a container of a pod is waiting, by `uid/name`; kept across syncs of one pod. */
  private readonly waiting = new Map<string, { reason: string; message?: string }>();
  /**
   * Pods the eviction manager chose, by uid: evicted at their next sync, then left alone
   * until the API shows them Failed (a sync of a stale copy must not start them again).
   */
  private readonly evictions = new Map<string, { message: string; done: boolean }>();
  /** The status each pod's last sync reported (written, or found written), by uid. */
  private readonly reported = new Map<string, Record<string, unknown>>();

  constructor(private readonly opts: PodSyncerOptions) {
    this.nodeName = opts.nodeName;
    this.runtime = opts.runtime;
    this.now = opts.now ?? Date.now;
    this.crash = new Backoff(this.now);
    this.pulls = new Backoff(this.now);
    this.volumeRetry = new Backoff(this.now, 1000, 120_000);
  }

  /** Brings one pod (as the API has it) one step closer to its spec, and reports its status. */
  async sync(pod: KubeObject): Promise<SyncResult> {
    if (pod.metadata.deletionTimestamp) {
      await this.terminate(pod);
      return {};
    }
    const phase = pod.status?.phase;
    const ref = refOf(pod);
    const eviction = this.evictions.get(ref.uid);
    if (eviction && phase !== 'Succeeded' && phase !== 'Failed') {
      if (!eviction.done) await this.evict(pod, eviction.message);
      eviction.done = true;
      return {};
    }
    if (phase === 'Succeeded' || phase === 'Failed') {
      this.evictions.delete(ref.uid);
      // A finished pod keeps its status and containers (logs); nothing of it runs, and its volumes go.
      await this.killPod(ref.uid, 0, false);
      await this.opts.volumes?.tearDown(ref.uid);
      return {};
    }
    if (await this.rejected(pod)) return {};
    const waitForVolumes = await this.setUpVolumes(pod);
    if (waitForVolumes) return waitForVolumes;
    const sandbox = await this.ensureSandbox(pod);
    const containers = await this.runtime.listContainers({ podUid: ref.uid });
    const result = await this.converge(pod, sandbox, containers);
    const after = await this.runtime.listContainers({ podUid: ref.uid });
    // A sync that waits for a back-off is not settled: the next one (its status write's echo
    // too) reports what the wait is (ImagePullBackOff after ErrImagePull), as before.
    await this.report(pod, sandbox, after, result.retryAfterMs === undefined);
    return result;
  }

  /**
   * Admission of a pod new to the node (nothing of it in the runtime yet): refused, it fails
   * at once with reason Evicted, as the kubelet's rejectPod writes it; a pod already running
   * is never refused.
   */
  private async rejected(pod: KubeObject): Promise<boolean> {
    const why = this.opts.admit?.(pod);
    if (!why) return false;
    const message = await rejectNewPod(refOf(pod), why, this.evictionDeps());
    if (message) this.event(pod, 'Warning', 'Evicted', message);
    return !!message;
  }

  private evictionDeps() {
    return { runtime: this.runtime, api: this.opts.api, nodeIP: this.opts.nodeIP, now: this.now };
  }

  /**
   * Marks a pod for eviction (the eviction manager's verdict): its next sync, serialized with
   * the others of that pod, kills its containers and reports it Failed with reason Evicted.
   */
  markEvicted(uid: string, message: string): void {
    if (!this.evictions.has(uid)) this.evictions.set(uid, { message, done: false });
  }

  /**
   * Evicts a pod as the kubelet does under node pressure: a Warning event, its containers
   * killed at once (grace period 1 s, a hard threshold's), and its status Failed with reason
   * Evicted, the message, and the DisruptionTarget condition. A Failed pod is not restarted;
   * its controller makes another.
   */
  private async evict(pod: KubeObject, message: string): Promise<void> {
    const ref = refOf(pod);
    this.event(pod, 'Warning', 'Evicted', message);
    await this.killPod(ref.uid, 1, false, pod);
    await reportEvicted(pod, ref, message, this.evictionDeps());
  }

  /**
   * Tears down what runs for pods that should not run here (deleted while the agent was
   * away, or moved): every sandbox whose pod uid is not in `wanted`.
   */
  async housekeeping(wanted: Set<string>): Promise<void> {
    const seen = new Set<string>();
    for (const s of await this.runtime.listPodSandboxes()) if (!wanted.has(s.pod.uid)) seen.add(s.pod.uid);
    for (const c of await this.runtime.listContainers()) if (!wanted.has(c.pod.uid)) seen.add(c.pod.uid);
    for (const uid of seen) {
      log.info('removing the containers of a pod that is gone', { node: this.nodeName, uid });
      await this.killPod(uid, 0, true);
    }
    await this.opts.volumes?.housekeeping(wanted);
  }

  /**
   * Volumes come before the sandbox (the kubelet's WaitForAttachAndMount): while one cannot
   * be set up, every container waits in ContainerCreating with the reason, and the pod is
   * tried again after a back-off.
   */
  private async setUpVolumes(pod: KubeObject): Promise<SyncResult | undefined> {
    const uid = pod.metadata.uid ?? '';
    const names = specContainers(pod).map((c: SpecContainer) => `${uid}/${c.name}`);
    try {
      await this.opts.volumes?.setUp(pod);
    } catch (e) {
      if (!(e instanceof VolumeError)) throw e;
      for (const k of names) this.waiting.set(k, { reason: 'ContainerCreating', message: e.message });
      await this.report(pod, undefined, await this.runtime.listContainers({ podUid: uid }));
      return { retryAfterMs: this.volumeRetry.next(uid) };
    }
    for (const k of names) if (this.waiting.get(k)?.reason === 'ContainerCreating') this.waiting.delete(k);
    this.volumeRetry.forgetPrefix(uid);
    return undefined;
  }

  private async ensureSandbox(pod: KubeObject): Promise<SandboxStatus> {
    const ref = refOf(pod);
    const sandboxes = await this.runtime.listPodSandboxes({ podUid: ref.uid });
    const ready = sandboxes.find((s) => s.state === 'ready');
    if (ready) return ready;
    // A sandbox that died takes its containers with it: start over in a new one, keeping the
    // old containers (their attempts and exit codes) for the status.
    for (const s of sandboxes) await this.runtime.stopPodSandbox(s.id);
    await this.runtime.runPodSandbox({
      ...sandboxConfig(pod, this.opts.dns ? { clusterDomain: this.opts.dns.clusterDomain } : {}),
      ...(this.opts.dns ? { dns: podDnsConfig(pod, this.opts.dns) } : {}),
    });
    const made = (await this.runtime.listPodSandboxes({ podUid: ref.uid })).find((s) => s.state === 'ready');
    if (!made)
      throw new BerthError('Unavailable', `The sandbox of pod ${ref.namespace}/${ref.name} did not start`);
    return made;
  }

  /** Starts what should run: init containers one at a time, then every container. */
  private async converge(
    pod: KubeObject,
    sandbox: SandboxStatus,
    containers: ContainerStatus[],
  ): Promise<SyncResult> {
    const byName = attemptsByName(containers);
    const policy: string = pod.spec?.restartPolicy ?? 'Always';
    const retries: number[] = [];
    // Ephemeral containers first, as the kubelet does, so a debugger can start while an init
    // container keeps failing; each runs once and is never restarted.
    for (const c of (pod.spec?.ephemeralContainers ?? []) as SpecContainer[]) {
      const step = await this.step(pod, sandbox, c, false, byName.get(c.name)?.latest, 'Never');
      if (step !== undefined) retries.push(step);
    }
    for (const c of (pod.spec?.initContainers ?? []) as SpecContainer[]) {
      const latest = byName.get(c.name)?.latest;
      if (latest?.state === 'exited' && latest.exitCode === 0) continue;
      if (latest?.state === 'running') return {};
      // Init containers restart unless the pod's policy is Never (then the pod fails).
      const step = await this.step(pod, sandbox, c, true, latest, policy === 'Never' ? 'Never' : 'Always');
      if (step !== undefined) retries.push(step);
      return retries.length ? { retryAfterMs: Math.min(...retries) } : {};
    }
    for (const c of (pod.spec?.containers ?? []) as SpecContainer[]) {
      const step = await this.step(pod, sandbox, c, false, byName.get(c.name)?.latest, policy);
      if (step !== undefined) retries.push(step);
    }
    return retries.length ? { retryAfterMs: Math.min(...retries) } : {};
  }

  /** One container's next step; returns when to look again if it is backing off. */
  private async step(
    pod: KubeObject,
    sandbox: SandboxStatus,
    c: SpecContainer,
    init: boolean,
    latestRun: ContainerStatus | undefined,
    policy: string,
  ): Promise<number | undefined> {
    let latest = latestRun;
    const uid = pod.metadata.uid ?? '';
    const key = `${uid}/${c.name}`;
    if (latest?.state === 'running') {
      const kill = this.opts.probes?.verdict(uid, c, latest.id).kill;
      if (!kill) {
        this.waiting.delete(key);
        return undefined;
      }
      this.event(
        pod,
        'Normal',
        'Killing',
        `Container ${c.name} failed ${kill.kind} probe, will be restarted`,
      );
      const grace = kill.graceSeconds ?? Number(pod.spec?.terminationGracePeriodSeconds ?? 30);
      await this.stopContainer(pod, c, latest.id, sandbox.ip, grace);
      latest = await this.runtime.containerStatus(latest.id);
    }
    if (latest?.state === 'created') {
      await this.runtime.startContainer(latest.id);
      return undefined;
    }
    if (latest?.state === 'exited') {
      if (!shouldRestart(policy, latest)) {
        this.waiting.delete(key);
        return undefined;
      }
      const wait = this.crash.remaining(key, latest.finishedAt);
      if (wait > 0) {
        const secs = Math.round(this.crash.delay(key) / 1000);
        this.event(
          pod,
          'Warning',
          'BackOff',
          `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${uid})`,
        );
        this.waiting.set(key, {
          reason: 'CrashLoopBackOff',
          message: `back-off ${secs < 60 ? `${secs}s` : `${Math.floor(secs / 60)}m${secs % 60}s`} restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${uid})`,
        });
        return wait;
      }
      this.crash.next(key);
    }
    const pullWait = this.pulls.remaining(key);
    const pulling = this.waiting.get(key);
    if (
      pullWait > 0 &&
      pulling &&
      (pulling.reason.startsWith('ErrImage') || pulling.reason === 'ImagePullBackOff')
    ) {
      // Told once per failed pull: the syncs our own status writes bring must neither pull
      // again before the backoff ends nor repeat the events.
      if (pulling.reason === 'ErrImagePull') {
        this.waiting.set(key, { ...pulling, reason: 'ImagePullBackOff' });
        this.event(pod, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`);
        this.event(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff');
      }
      return pullWait;
    }
    const attempt = latest ? latest.attempt + 1 : 0;
    let id: string;
    try {
      const config = await containerConfig(pod, c, {
        attempt,
        init,
        source: this.opts.objects,
        nodeIP: this.opts.nodeIP,
        podIP: sandbox.ip,
      });
      if (this.opts.volumes) config.mounts = await this.opts.volumes.mounts(pod, c, config.env);
      if (c.targetContainerName) config.targetContainerId = await this.targetOf(uid, c);
      id = await this.createWithPullEvents(pod, sandbox.id, config);
    } catch (e) {
      const err = e as BerthError;
      if (e instanceof ConfigError) {
        this.waiting.set(key, { reason: 'CreateContainerConfigError', message: err.message });
        this.event(pod, 'Warning', 'Failed', `Error: ${err.message}`);
        return this.pulls.next(`config/${key}`);
      }
      if (e instanceof NeverPullError) {
        // The kubelet's ErrImageNeverPull: no pull, so no ImagePullBackOff either; the
        // container waits with this reason and is tried again after the pull backoff.
        this.waiting.set(key, { reason: 'ErrImageNeverPull', message: err.message });
        this.event(pod, 'Warning', 'ErrImageNeverPull', err.message);
        this.event(pod, 'Warning', 'Failed', 'Error: ErrImageNeverPull');
        return this.pulls.next(key);
      }
      if (err instanceof BerthError && pullFailures.has(err.code)) {
        const wait = this.pulls.next(key);
        this.waiting.set(key, { reason: 'ErrImagePull', message: err.message });
        this.event(pod, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${err.message}`);
        this.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull');
        return wait;
      }
      throw e;
    }
    this.waiting.delete(key);
    this.event(pod, 'Normal', 'Created', `Created container: ${c.name}`);
    await this.runtime.startContainer(id);
    this.event(pod, 'Normal', 'Started', `Started container ${c.name}`);
    await this.postStart(pod, c, id, sandbox.ip);
    // Keep the run before this one (lastState, `logs --previous`); older ones go.
    if (latest) await this.removeOlderThan(uid, c.name, latest.attempt);
    return undefined;
  }

  /**
   * The running container whose PID namespace an ephemeral container joins
   * (`targetContainerName`); a target that is not running is a config error, as with CRI.
   */
  private async targetOf(uid: string, c: SpecContainer): Promise<string> {
    const target = attemptsByName(await this.runtime.listContainers({ podUid: uid })).get(
      c.targetContainerName,
    )?.latest;
    if (target?.state !== 'running')
      throw new ConfigError(
        `target container "${c.targetContainerName}" of container "${c.name}" is not running`,
      );
    return target.id;
  }

  private async removeOlderThan(uid: string, name: string, attempt: number): Promise<void> {
    for (const old of await this.runtime.listContainers({ podUid: uid }))
      if (old.name === name && old.attempt < attempt && old.state !== 'running')
        await this.runtime.removeContainer(old.id);
  }

  /**
   * Writes the pod's status when the stored one says otherwise. With `settled` (the sync
   * converged and waits for nothing) and the pod not finished, the status is noted for
   * {@link reportedAs}.
   */
  private async report(
    pod: KubeObject,
    sandbox: SandboxStatus | undefined,
    containers: ContainerStatus[],
    settled = false,
  ): Promise<void> {
    const uid = pod.metadata.uid ?? '';
    const notes = new Map<string, ContainerNote>();
    const byName = attemptsByName(containers);
    for (const c of specContainers(pod)) {
      const w = this.waiting.get(`${uid}/${c.name}`);
      const run = byName.get(c.name)?.latest;
      const probed = run?.state === 'running' ? this.opts.probes?.verdict(uid, c, run.id) : undefined;
      if (w || probed) notes.set(c.name, { ...(w ? { waiting: w } : {}), ...(probed ? { probed } : {}) });
    }
    this.opts.probes?.update(pod, containers, sandbox?.ip || this.opts.nodeIP);
    const status = podStatus({
      pod,
      nodeIP: this.opts.nodeIP,
      ...(sandbox ? { sandbox } : {}),
      containers,
      notes,
      now: this.now(),
    });
    // Noted before the write: its echo may come through the watch before the write's answer.
    // A finished pod's echo is synced: that sync, seeing it stored finished, stops its sandbox
    // and takes its volumes down.
    if (settled && status.phase !== 'Succeeded' && status.phase !== 'Failed') this.reported.set(uid, status);
    else this.reported.delete(uid);
    if (statusMatches(pod.status, status)) return;
    try {
      await this.opts.api.patchStatus(pod.metadata.namespace ?? '', pod.metadata.name ?? '', status);
    } catch (e) {
      this.reported.delete(uid);
      throw e;
    }
  }

  /**
   * Whether the stored status of `pod` says what its last sync reported: a change of the pod
   * that is only that (the echo of the agent's own status write, about one per pod start)
   * needs no sync, as the kubelet's pod config does not hand status-only updates to its pod
   * workers. A status someone else changed to say otherwise does.
   */
  reportedAs(pod: KubeObject): boolean {
    const want = this.reported.get(pod.metadata.uid ?? '');
    return want !== undefined && statusMatches(pod.status, want);
  }

  /** Forgets what was reported for a pod that left the node's pods. */
  forget(uid: string): void {
    this.reported.delete(uid);
  }

  /** A pod being deleted: stop it within its grace period, remove it, then let the API forget it. */
  private async terminate(pod: KubeObject): Promise<void> {
    const grace = Number(
      pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30,
    );
    const ref = refOf(pod);
    await this.killPod(ref.uid, grace, true, pod);
    try {
      await this.opts.api.deletePod(ref.namespace, ref.name, ref.uid);
    } catch (e) {
      // Gone already, or replaced by a new pod of the same name (the uid precondition).
      if (!isNotFound(e) && (e as BerthError).code !== 'Conflict') throw e;
    }
  }

  /** Stops (and with `remove`, removes) every container and sandbox of pod `uid`. */
  private async killPod(uid: string, graceSeconds: number, remove: boolean, pod?: KubeObject): Promise<void> {
    this.opts.probes?.forget(uid);
    const containers = await this.runtime.listContainers({ podUid: uid });
    const specs = pod ? specContainers(pod) : [];
    const ip = pod
      ? (await this.runtime.listPodSandboxes({ podUid: uid })).find((s) => s.state === 'ready')?.ip
      : '';
    await Promise.all(
      containers
        .filter((c) => c.state === 'running')
        .map((c) => {
          const spec = specs.find((s) => s.name === c.name);
          if (!pod || !spec) return this.runtime.stopContainer(c.id, graceSeconds);
          this.event(pod, 'Normal', 'Killing', `Stopping container ${c.name}`);
          return this.stopContainer(pod, spec, c.id, ip ?? '', graceSeconds);
        }),
    );
    // A finished pod keeps its containers (logs, exit codes) but not its network.
    for (const s of await this.runtime.listPodSandboxes({ podUid: uid }))
      if (s.state === 'ready') await this.runtime.stopPodSandbox(s.id);
    if (!remove) return;
    for (const c of containers) await this.runtime.removeContainer(c.id);
    for (const s of await this.runtime.listPodSandboxes({ podUid: uid }))
      await this.runtime.removePodSandbox(s.id);
    await this.opts.volumes?.tearDown(uid);
    this.volumeRetry.forgetPrefix(uid);
    this.crash.forgetPrefix(`${uid}/`);
    this.pulls.forgetPrefix(`${uid}/`);
    for (const k of this.waiting.keys()) if (k.startsWith(`${uid}/`)) this.waiting.delete(k);
    this.evictions.delete(uid);
  }

  /** Creates a container, telling with events whether its image was pulled or already there. */
  private async createWithPullEvents(
    pod: KubeObject,
    sandboxId: string,
    config: ContainerConfig,
  ): Promise<string> {
    const { image, imagePullPolicy: policy } = config;
    const present = policy !== 'Always' && (await this.runtime.imagePresent?.(image));
    if (present === undefined) return this.runtime.createContainer(sandboxId, config);
    if (policy === 'Never' && !present) throw new NeverPullError(image);
    if (present) {
      this.event(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
      return this.runtime.createContainer(sandboxId, config);
    }
    this.event(pod, 'Normal', 'Pulling', `Pulling image "${image}"`);
    const began = this.now();
    const id = await this.runtime.createContainer(sandboxId, config);
    const secs = `${((this.now() - began) / 1000).toFixed(3)}s`;
    this.event(pod, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${secs}`);
    return id;
  }

  private event(pod: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.opts.event?.(refOf(pod), type, reason, message);
  }

  /** Stops a running container: its preStop hook first, then SIGTERM, within `graceSeconds` in all. */
  private async stopContainer(
    pod: KubeObject,
    c: SpecContainer,
    id: string,
    podIP: string,
    graceSeconds: number,
  ): Promise<void> {
    const began = this.now();
    if (c.lifecycle?.preStop && graceSeconds > 0) {
      const failed = await runHook(
        'preStop',
        c,
        pod.metadata.name ?? '',
        this.hookTarget(id, podIP),
        graceSeconds * 1000,
      );
      if (failed) this.event(pod, 'Warning', 'FailedPreStopHook', failed);
    }
    const left = Math.max(0, graceSeconds - Math.floor((this.now() - began) / 1000));
    await this.runtime.stopContainer(id, left);
  }

  /** Runs a started container's postStart hook; a failed one kills the container. */
  private async postStart(pod: KubeObject, c: SpecContainer, id: string, podIP: string): Promise<void> {
    if (!c.lifecycle?.postStart) return;
    const grace = Number(pod.spec?.terminationGracePeriodSeconds ?? 30);
    // The kubelet gives postStart no deadline of its own; the grace period bounds it here.
    const failed = await runHook(
      'postStart',
      c,
      pod.metadata.name ?? '',
      this.hookTarget(id, podIP),
      Math.max(grace, 30) * 1000,
    );
    if (!failed) return;
    this.event(pod, 'Warning', 'FailedPostStartHook', failed);
    this.event(pod, 'Normal', 'Killing', `FailedPostStartHook`);
    await this.runtime.stopContainer(id, 0);
  }

  private hookTarget(containerId: string, podIP: string) {
    return { containerId, podIP: podIP || this.opts.nodeIP, runtime: this.runtime };
  }
}
