import { loopIdentity, loopToken } from '../apiserver/authz/controller-policy.js';
import { Controller } from '../client/controller.js';
import { EventRecorder } from '../client/events.js';
import { Informer } from '../client/informer.js';
import type { KubeClient, KubeObject, Resource } from '../client/kube-client.js';
import type { WorkQueue } from '../client/work-queue.js';
import { controllerUid } from './pods.js';

/** Tunables of the control plane (`berth server` flags). */
export interface ControlPlaneOptions {
  /** A node whose heartbeat is older than this is NotReady/Unknown. Default 20,000 ms. */
  nodeMonitorGracePeriodMs?: number;
  /** Where nodes' pod CIDRs come from (`--cluster-cidr`). Default 10.42.0.0/16. */
  clusterCidr?: string;
  /**
   * The CA the csrsigning controller signs with (`--cluster-signing-cert-file`/`-key-file`) and
   * the longest life it gives a certificate (`--cluster-signing-duration`; default a year).
   */
  clusterSigning?: { certFile: string; keyFile: string; durationSeconds?: number };
  /**
   * The client's token is the API server's control-plane token, from which each controller's
   * own identity is derived (controller-policy.ts). Only the server's own control plane has it;
   * a control plane started with other credentials (an admin's) writes with those.
   */
  controllerIdentities?: boolean;
}

/**
 * What a controller gets when it starts: the API client, one shared informer per resource
 * (so ten controllers watching pods cost one watch and one cache), work queues whose workers
 * wait for the informers this controller asked for, the event recorders and a place to
 * leave its stopper. Controllers register their informer handlers synchronously in `start`;
 * the manager starts every informer afterwards.
 */
export interface ControllerContext {
  readonly client: KubeClient;
  readonly options: ControlPlaneOptions;
  /** The shared informer of a resource; this controller's workers wait for its first list. */
  informer(r: Resource): Informer;
  /** A work queue that runs `sync` once every informer this controller uses has synced. */
  queue(sync: (key: string) => Promise<void>, workers?: number): WorkQueue;
  /** The event recorder of `component` (the "From" of `kubectl describe`), writing as this controller. */
  recorder(component: string): EventRecorder;
  /** Called when the control plane stops (timers). */
  onStop(fn: () => void): void;
}

/** A controller as the manager knows it: a name for `--controllers` and how to start it. */
export interface ControllerSpec {
  readonly name: string;
  start(ctx: ControllerContext): void;
}

/** What the manager hands out, one `forController` per controller, with what it needs to start and stop. */
export class SharedContext {
  private readonly informers = new Map<string, Informer>();
  private readonly recorders = new Map<KubeClient, Map<string, EventRecorder>>();
  private readonly controllers: Controller[] = [];
  private readonly stops: (() => void)[] = [];
  /** The controllers' own clients, by identity (sharing the control plane's connections). */
  private readonly clients = new Map<string, KubeClient>();
  /** The kube-system ServiceAccounts the controllers started so far write as. */
  readonly serviceAccounts = new Set<string>();

  constructor(
    readonly client: KubeClient,
    readonly options: ControlPlaneOptions = {},
  ) {}

  informer(r: Resource): Informer {
    const k = `${r.base}/${r.plural}`;
    let inf = this.informers.get(k);
    if (!inf) {
      inf = new Informer(this.client, r);
      this.informers.set(k, inf);
    }
    return inf;
  }

  /** The recorder of `component` writing with `client` (events are written by whoever reports them, as upstream's). */
  recorder(component: string, client = this.client): EventRecorder {
    let byComponent = this.recorders.get(client);
    if (!byComponent) {
      byComponent = new Map();
      this.recorders.set(client, byComponent);
    }
    let r = byComponent.get(component);
    if (!r) {
      r = new EventRecorder(client, component);
      byComponent.set(component, r);
    }
    return r;
  }

  /**
   * The client a controller writes with: its own identity when it has one (controller-policy.ts)
   * and the control plane authenticates with a token to derive it from, else the shared one.
   */
  private clientFor(name: string): KubeClient {
    const id = loopIdentity(name);
    if (!id || !this.client.token || !this.options.controllerIdentities) return this.client;
    if (id.serviceAccount) this.serviceAccounts.add(id.serviceAccount);
    let c = this.clients.get(id.key);
    if (!c) {
      c = this.client.withToken(loopToken(this.client.token, id));
      this.clients.set(id.key, c);
    }
    return c;
  }

  /** The context of one controller: its informers and queues are tracked by its runner. */
  forController(name: string): ControllerContext {
    const c = new Controller(name);
    this.controllers.push(c);
    const client = this.clientFor(name);
    return {
      client,
      options: this.options,
      informer: (r) => c.uses(this.informer(r)),
      queue: (sync, workers) => c.queue(sync, workers),
      recorder: (component) => this.recorder(component, client),
      onStop: (fn) => this.stops.push(fn),
    };
  }

  /**
   * Starts every informer asked for so far and each controller's workers once its own
   * informers have synced; resolves when all are running.
   */
  async startInformers(): Promise<void> {
    for (const i of this.informers.values()) i.start();
    await Promise.all(this.controllers.map((c) => c.run()));
  }

  stop(): void {
    for (const c of this.controllers.splice(0)) c.stop();
    for (const s of this.stops.splice(0)) s();
    for (const i of this.informers.values()) i.stop();
  }
}

/** The objects of one namespace in an informer's cache (through a shared index). */
export function inNamespace(inf: Informer, ns: string): KubeObject[] {
  return inf
    .addIndex('namespace', (o) => (o.metadata.namespace ? [o.metadata.namespace] : []))
    .byIndex('namespace', ns);
}

/** The objects of one namespace without a controlling owner (through a shared index). */
export function orphansIn(inf: Informer, ns: string): KubeObject[] {
  return inf
    .addIndex('orphan', (o) =>
      o.metadata.namespace && !o.metadata.ownerReferences?.some((r) => r.controller)
        ? [o.metadata.namespace]
        : [],
    )
    .byIndex('orphan', ns);
}

/** The objects whose controlling owner has this uid (through a shared index). */
export function ownedBy(inf: Informer, uid: string): KubeObject[] {
  return inf
    .addIndex('controller', (o) => {
      const c = controllerUid(o);
      return c ? [c] : [];
    })
    .byIndex('controller', uid);
}

/** `namespace/name` of the object's controlling owner of `kind`, if it has one. */
export function ownerKey(obj: KubeObject, kind: string): string | undefined {
  const o = obj.metadata.ownerReferences?.find((x) => x.controller && x.kind === kind);
  return o ? `${obj.metadata.namespace}/${o.name}` : undefined;
}
