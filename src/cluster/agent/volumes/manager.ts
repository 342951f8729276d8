/**
 * The agent's volume manager (the kubelet's volume manager and volume plugins in one): sets
 * up a pod's volumes under PODS_DIR/UID/volumes before its containers are made, gives each
 * container its mounts (subPath ones bind-mounted safely), keeps API-backed volumes current
 * while the pod runs (each change swapped in atomically), and removes everything when the
 * pod goes. All of it lives on disk and in the host's mount table, so an agent restarted
 * after `kill -9` finds its volumes as they were and re-adopts them: tmpfs mounts already in
 * place are kept, unchanged files are not rewritten, and emptyDir contents survive.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, internal } from '../../../core/errors.js';
import { run } from '../../../core/exec.js';
import { logger } from '../../../core/log.js';
import { isMounted, mountsBelow, unmount } from '../../../engine/snapshot/mount.js';
import type { KubeObject } from '../../client/kube-client.js';
import { parseQuantity } from '../../scheduler/quantity.js';
import { ConfigError, expand } from '../container-config.js';
import { mountPropagationOf } from '../mount-propagation.js';
import type { Mount } from '../runtime.js';
import { writeAtomic } from './atomic-writer.js';
import { checkHostPath } from './host-path.js';
import { type DownwardContext, type VolumeSources, volumePayload } from './payload.js';
import { bindSubPath } from './subpath.js';
import { VolumeError } from './volume-error.js';

const log = logger('agent');

/** What the pod sync asks of the volumes of a pod. */
export interface PodVolumes {
  /**
   * Sets up (or brings up to date) the volumes of `pod`. Throws a VolumeError while one of
   * them cannot be set up; the pod's containers then wait in ContainerCreating.
   */
  setUp(pod: KubeObject): Promise<void>;
  /** The mounts of container `c` (after `setUp`); `env` is its environment, for subPathExpr. */
  mounts(pod: KubeObject, c: SpecContainer, env: { name: string; value: string }[]): Promise<Mount[]>;
  /** Unmounts and removes everything of pod `uid`. */
  tearDown(uid: string): Promise<void>;
  /** Tears down the volumes of every pod not in `wanted` (deleted while the agent was away). */
  housekeeping(wanted: Set<string>): Promise<void>;
}

/** Where PersistentVolumeClaims and their volumes are read from, and where mount failures are told. */
export interface ClaimSource {
  claim(namespace: string, name: string): Promise<KubeObject | undefined>;
  persistentVolume(name: string): Promise<KubeObject | undefined>;
  /** Records a Warning event about `pod` (FailedMount), as `kubectl describe pod` shows it. */
  warn?(pod: KubeObject, reason: string, message: string): Promise<void>;
}

export interface VolumeManagerOptions {
  /** PODS_DIR: one folder per pod uid. */
  podsDir: string;
  /**
   * Where secret and projected volumes live, one folder per pod uid: a tmpfs mounted once
   * for the node (one mount per pod would cost a mount(8) process per pod).
   */
  secretsDir: string;
  nodeName: string;
  nodeIP: string;
  sources: VolumeSources & ClaimSource;
  /** The node's allocatable cpu and memory: the downward API's value for unset limits. */
  allocatable: DownwardContext['allocatable'];
  /** How often running pods' configMap, secret, downwardAPI and projected volumes are refreshed (10 s). */
  refreshMs?: number;
}

// biome-ignore lint/suspicious/noExplicitAny: a container or volume of the pod spec
type SpecContainer = any;
// biome-ignore lint/suspicious/noExplicitAny: a volume of the pod spec
type SpecVolume = any;

/** The kubelet's folder name of each volume plugin under PODS_DIR/UID/volumes. */
function pluginOf(v: SpecVolume): string | undefined {
  if (v.emptyDir) return 'kubernetes.io~empty-dir';
  if (v.configMap) return 'kubernetes.io~configmap';
  if (v.secret) return 'kubernetes.io~secret';
  if (v.downwardAPI) return 'kubernetes.io~downward-api';
  if (v.projected) return 'kubernetes.io~projected';
  return undefined;
}

/** Volumes whose files come from the API: always mounted read-only, refreshed while the pod runs. */
const fromApi = (v: SpecVolume) => !!(v.configMap || v.secret || v.downwardAPI || v.projected);

/** Volumes holding secrets (and tokens): kept in memory, as the kubelet keeps them, never on disk. */
const holdsSecrets = (v: SpecVolume) => !!v.secret || !!v.projected;

const fsGroupOf = (pod: KubeObject): number | undefined => {
  const g = pod.spec?.securityContext?.fsGroup;
  return typeof g === 'number' ? g : undefined;
};

export class VolumeManager implements PodVolumes {
  /** Host paths of set-up volumes, by `uid/name`. */
  private readonly paths = new Map<string, string>();
  /** The latest spec of each pod with API-backed volumes, for the refresh. */
  private readonly pods = new Map<string, KubeObject>();
  /** One volume operation per pod at a time (a sync and a refresh never write the same folder together). */
  private readonly locks = new Map<string, Promise<void>>();
  private timer?: NodeJS.Timeout;
  /** The last failure told about each `uid/volume`, so a retry that fails the same way is not an event again. */
  private readonly told = new Map<string, string>();
  private secretsMounted = false;

  constructor(private readonly opts: VolumeManagerOptions) {
    mkdirSync(opts.podsDir, { recursive: true, mode: 0o750 });
  }

  /** Starts refreshing running pods' API-backed volumes. */
  start(): void {
    this.timer = setInterval(() => {
      for (const pod of this.pods.values())
        void this.locked(pod.metadata.uid ?? '', () => this.setUpAll(pod, true)).catch((e) =>
          log.warn('volume refresh failed', { pod: pod.metadata.name, err: e as Error }),
        );
    }, this.opts.refreshMs ?? 10_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private podDir(uid: string, base = this.opts.podsDir): string {
    if (!/^[A-Za-z0-9-]+$/.test(uid)) throw internal(`Invalid pod uid "${uid}"`);
    return join(base, uid);
  }

  /** The node's tmpfs for secrets, mounted on first use (and found again after a restart). */
  private async secretsRoot(): Promise<string> {
    const dir = this.opts.secretsDir;
    if (!this.secretsMounted) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (!isMounted(dir)) await run('mount', ['-t', 'tmpfs', '-o', 'nosuid,nodev,mode=0700', 'tmpfs', dir]);
      this.secretsMounted = true;
    }
    return dir;
  }

  private async locked<T>(uid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(uid) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(uid, tail);
    void tail.then(() => this.locks.get(uid) === tail && this.locks.delete(uid));
    return next;
  }

  setUp(pod: KubeObject): Promise<void> {
    return this.locked(pod.metadata.uid ?? '', () => this.setUpAll(pod, false));
  }

  private async setUpAll(pod: KubeObject, refreshOnly: boolean): Promise<void> {
    const uid = pod.metadata.uid ?? '';
    // A refresh queued behind the pod's teardown must not bring its folders back.
    if (refreshOnly && !this.pods.has(uid)) return;
    const volumes = (pod.spec?.volumes ?? []) as SpecVolume[];
    if (volumes.some(fromApi)) this.pods.set(uid, pod);
    for (const v of volumes) {
      // A sync only sets up what is missing; the refresh timer keeps the rest current.
      const done = this.paths.has(`${uid}/${v.name}`);
      if (refreshOnly ? !fromApi(v) || !done : done) continue;
      try {
        this.paths.set(`${uid}/${v.name}`, await this.setUpOne(pod, v));
      } catch (e) {
        if (!(e instanceof BerthError) || e.code === 'Internal') throw e;
        // A volume the containers already use keeps its last good contents (the kubelet retries).
        const message = `MountVolume.SetUp failed for volume "${v.name}" : ${e.message}`;
        this.tell(pod, v.name, message);
        if (refreshOnly) {
          log.warn('volume not refreshed', { pod: pod.metadata.name, volume: v.name, err: e });
          continue;
        }
        throw new VolumeError(message);
      }
    }
  }

  /** A FailedMount event, once per distinct failure of a volume; posting it never fails the sync. */
  private tell(pod: KubeObject, volume: string, message: string): void {
    const key = `${pod.metadata.uid}/${volume}`;
    if (this.told.get(key) === message || !this.opts.sources.warn) return;
    this.told.set(key, message);
    void this.opts.sources
      .warn(pod, 'FailedMount', message)
      .catch((e) => log.warn('event not recorded', { pod: pod.metadata.name, err: e as Error }));
  }

  /** Sets up one volume; returns the host path the containers mount. */
  private async setUpOne(pod: KubeObject, v: SpecVolume): Promise<string> {
    if (v.hostPath) {
      checkHostPath(v.hostPath.path, v.hostPath.type ?? '');
      return v.hostPath.path;
    }
    if (v.persistentVolumeClaim) return this.claimPath(pod, v.persistentVolumeClaim.claimName);
    const plugin = pluginOf(v);
    if (!plugin) throw new VolumeError(`volume type of "${v.name}" is not supported by this node`);
    const base = holdsSecrets(v) ? await this.secretsRoot() : this.opts.podsDir;
    const dir = join(this.podDir(pod.metadata.uid ?? '', base), 'volumes', plugin, v.name);
    const fresh = !existsSync(dir);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const memory = v.emptyDir?.medium === 'Memory';
    if (memory && !isMounted(dir)) {
      const size = v.emptyDir?.sizeLimit ? [`size=${parseQuantity(v.emptyDir.sizeLimit)}`] : [];
      await run('mount', ['-t', 'tmpfs', '-o', ['nosuid', 'nodev', ...size].join(','), 'tmpfs', dir]);
    }
    const gid = fsGroupOf(pod);
    if (v.emptyDir) {
      // emptyDir is world-writable like /tmp, so any user the containers run as can use it.
      if (fresh || memory) {
        if (gid !== undefined) chownSync(dir, -1, gid);
        chmodSync(dir, gid === undefined ? 0o777 : 0o2777);
      }
      return dir;
    }
    const payload = await volumePayload(pod, v, this.opts.sources, {
      nodeIP: this.opts.nodeIP,
      // Volumes are made before the pod has an address; the downward API's volume fields do not include it.
      podIP: '',
      allocatable: this.opts.allocatable,
    });
    if (writeAtomic(dir, payload ?? new Map(), gid === undefined ? {} : { gid }))
      log.debug('volume updated', { pod: pod.metadata.name, volume: v.name });
    return dir;
  }

  /** The folder of the local volume bound to claim `name`, which must be on this node. */
  private async claimPath(pod: KubeObject, name: string): Promise<string> {
    const ns = pod.metadata.namespace ?? 'default';
    const pvc = await this.opts.sources.claim(ns, name);
    if (!pvc) throw new VolumeError(`persistentvolumeclaim "${name}" not found`);
    const pvName = pvc.spec?.volumeName as string | undefined;
    if (!pvName || pvc.status?.phase !== 'Bound')
      throw new VolumeError(`persistentvolumeclaim "${name}" is not bound yet`);
    const pv = await this.opts.sources.persistentVolume(pvName);
    if (!pv) throw new VolumeError(`persistentvolume "${pvName}" of claim "${name}" not found`);
    const terms = (pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []) as {
      matchExpressions?: { key: string; operator: string; values?: string[] }[];
    }[];
    const hostnames = terms.flatMap((t) =>
      (t.matchExpressions ?? [])
        .filter((m) => m.key === 'kubernetes.io/hostname' && m.operator === 'In')
        .flatMap((m) => m.values ?? []),
    );
    if (hostnames.length && !hostnames.includes(this.opts.nodeName))
      throw new VolumeError(
        `persistentvolume "${pvName}" is on node ${hostnames.join(', ')}, not on ${this.opts.nodeName}`,
      );
    if (pv.spec?.hostPath) {
      checkHostPath(pv.spec.hostPath.path, pv.spec.hostPath.type ?? 'DirectoryOrCreate');
      return pv.spec.hostPath.path;
    }
    if (pv.spec?.local) {
      checkHostPath(pv.spec.local.path, 'Directory');
      return pv.spec.local.path;
    }
    throw new VolumeError(`persistentvolume "${pvName}" is not a local volume this node can mount`);
  }

  async mounts(pod: KubeObject, c: SpecContainer, env: { name: string; value: string }[]): Promise<Mount[]> {
    const uid = pod.metadata.uid ?? '';
    const volumes = (pod.spec?.volumes ?? []) as SpecVolume[];
    const vars = new Map(env.map((e) => [e.name, e.value]));
    const out: Mount[] = [];
    for (const [i, m] of ((c.volumeMounts ?? []) as SpecContainer[]).entries()) {
      const v = volumes.find((x) => x.name === m.name);
      const host = this.paths.get(`${uid}/${m.name}`);
      if (!v || !host)
        throw new ConfigError(`volumeMount "${m.name}" of container "${c.name}" names no volume of the pod`);
      const propagation = mountPropagationOf(c, m);
      const sub: string = m.subPath || (m.subPathExpr ? expand(m.subPathExpr, vars) : '');
      let hostPath = host;
      if (sub) {
        hostPath = join(this.podDir(uid), 'volume-subpaths', m.name, c.name, String(i));
        await this.locked(uid, () => bindSubPath(host, sub, hostPath));
      }
      out.push({
        hostPath,
        containerPath: m.mountPath,
        readOnly: !!m.readOnly || fromApi(v) || !!v.persistentVolumeClaim?.readOnly,
        ...(propagation !== 'None' ? { propagation } : {}),
      });
    }
    return out;
  }

  tearDown(uid: string): Promise<void> {
    return this.locked(uid, async () => {
      this.pods.delete(uid);
      this.opts.sources.forget?.(uid);
      for (const m of [this.paths, this.told])
        for (const k of m.keys()) if (k.startsWith(`${uid}/`)) m.delete(k);
      rmSync(this.podDir(uid, this.opts.secretsDir), { recursive: true, force: true });
      const dir = this.podDir(uid);
      if (!existsSync(dir)) return;
      for (const m of mountsBelow(dir)) await unmount(m);
      const left = mountsBelow(dir);
      // Never remove files through a mount that is still there: it could be a claim's data.
      if (left.length) throw internal(`Cannot remove the volumes of pod ${uid}: ${left[0]} is still mounted`);
      rmSync(dir, { recursive: true, force: true });
    });
  }

  async housekeeping(wanted: Set<string>): Promise<void> {
    const secrets = existsSync(this.opts.secretsDir) ? readdirSync(this.opts.secretsDir) : [];
    // Volumes this agent set up are its pods' until their own teardown: `wanted` may predate a new pod.
    const known = new Set([...this.paths.keys()].map((k) => k.split('/')[0]));
    for (const uid of new Set([...readdirSync(this.opts.podsDir), ...secrets]))
      if (!wanted.has(uid) && !known.has(uid)) await this.tearDown(uid);
  }
}
