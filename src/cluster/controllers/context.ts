import { Informer } from '../client/informer.js';
import type { KubeClient, KubeObject, Resource } from '../client/kube-client.js';

/**
 * What a controller gets when it starts: the API client, one shared informer per resource
 * (so ten controllers watching pods cost one watch and one cache), and a place to leave
 * its stopper. Controllers register their informer handlers synchronously in `start`; the
 * manager starts every informer afterwards and waits for their first lists.
 */
/** Tunables of the control plane (`berth server` flags). */
export interface ControlPlaneOptions {
  /** A node whose heartbeat is older than this is NotReady/Unknown. Default 20,000 ms. */
  nodeMonitorGracePeriodMs?: number;
}

export interface ControllerContext {
  readonly client: KubeClient;
  readonly options: ControlPlaneOptions;
  /** The shared informer of a resource, made on first request. */
  informer(r: Resource): Informer;
  /** Called when the control plane stops (work queues, timers). */
  onStop(fn: () => void): void;
}

/** A controller as the manager knows it: a name for `--controllers` and how to start it. */
export interface ControllerSpec {
  readonly name: string;
  start(ctx: ControllerContext): void;
}

/** The context the manager hands out, with the bookkeeping it needs to start and stop. */
export class SharedContext implements ControllerContext {
  private readonly informers = new Map<string, Informer>();
  private readonly stops: (() => void)[] = [];

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

  onStop(fn: () => void): void {
    this.stops.push(fn);
  }

  /** Starts every informer asked for so far and resolves when all have listed once. */
  async startInformers(): Promise<void> {
    const all = [...this.informers.values()];
    for (const i of all) i.start();
    await Promise.all(all.map((i) => i.hasSynced()));
  }

  stop(): void {
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

/** The objects whose controlling owner has this uid (through a shared index). */
export function ownedBy(inf: Informer, uid: string): KubeObject[] {
  return inf
    .addIndex('controller', (o) => {
      const c = o.metadata.ownerReferences?.find((r) => r.controller)?.uid;
      return c ? [c] : [];
    })
    .byIndex('controller', uid);
}

/** `namespace/name` of the object's controlling owner of `kind`, if it has one. */
export function ownerKey(obj: KubeObject, kind: string): string | undefined {
  const o = obj.metadata.ownerReferences?.find((x) => x.controller && x.kind === kind);
  return o ? `${obj.metadata.namespace}/${o.name}` : undefined;
}
