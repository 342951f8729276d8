/** The engine facade's network operations (Docker's `network` commands), each journaled. */
import { invalidArgument } from '../../core/errors.js';
import { type ConnectOptions, connectNetwork, disconnectNetwork } from '../container/connect.js';
import type { EngineContext } from '../container/context.js';
import { removeBridge } from '../network/attach.js';
import { inspectNetwork, inspectPredefined, PREDEFINED, predefinedId } from '../network/inspect.js';
import { DEFAULT_NETWORK, type NetworkRecord } from '../network/network-store.js';

/** Options of {@link NetworkService.create}. */
export interface NetworkCreateOptions {
  name: string;
  driver?: string;
  subnet?: string;
  gateway?: string;
  internal?: boolean;
  labels?: Record<string, string>;
}

/** Network operations of the engine facade. */
export class NetworkService {
  private defaulted = false;

  constructor(private readonly ctx: EngineContext) {}

  /** The store, with Docker's default network in it (made on first use, as Docker has it from the start). */
  private get store() {
    if (!this.defaulted) this.ctx.networks.ensureDefault();
    this.defaulted = true;
    return this.ctx.networks;
  }

  private event(action: string, n: NetworkRecord, extra: Record<string, string> = {}): void {
    this.ctx.events.append('network', action, n.id, { name: n.name, type: n.driver, ...extra });
  }

  /** Creates a bridge network. */
  create(o: NetworkCreateOptions): NetworkRecord {
    if ((o.driver ?? 'bridge') !== 'bridge')
      throw invalidArgument(`Unsupported network driver "${o.driver}": only bridge is available`);
    const { driver: _bridge, ...opts } = o;
    const n = this.store.create(opts);
    this.event('create', n);
    return n;
  }

  list(): NetworkRecord[] {
    return this.store.list();
  }

  /** Docker's inspect documents of every network: the bridges, then `host` and `none`. */
  inspectAll(): Record<string, unknown>[] {
    return [...this.list().map((n) => this.inspect(n.id)), ...PREDEFINED.map((p) => this.inspect(p))];
  }

  /** Docker's inspect document of a network (`host` and `none` too, by name or ID). */
  inspect(nameOrId: string): Record<string, unknown> {
    const predefined = PREDEFINED.find(
      (p) => p === nameOrId || (nameOrId.length >= 3 && predefinedId(p).startsWith(nameOrId)),
    );
    if (predefined) {
      // As dockerd: the running containers on it.
      const members = this.ctx.containers
        .list()
        .filter((r) => r.config.network === predefined && r.state === 'running');
      return inspectPredefined(predefined, members);
    }
    return inspectNetwork(this.store.get(nameOrId), this.store, (id) => this.ctx.containers.find(id)?.name);
  }

  /** Removes a network without endpoints (the predefined ones cannot go). */
  async remove(nameOrId: string): Promise<void> {
    if (nameOrId === DEFAULT_NETWORK || nameOrId === 'host' || nameOrId === 'none')
      throw invalidArgument(`${nameOrId} is a pre-defined network and cannot be removed`);
    const n = this.store.remove(nameOrId);
    await removeBridge(n);
    this.event('destroy', n);
  }

  /** Removes every user network without endpoints; returns their names. */
  async prune(
    match?: (o: { created: string; labels: Record<string, string> }) => boolean,
  ): Promise<string[]> {
    const removed: string[] = [];
    for (const n of this.store.list()) {
      if (n.name === DEFAULT_NETWORK || this.ctx.networks.attachmentsOf(n.name).length) continue;
      if (match && !match({ created: n.created, labels: n.labels })) continue;
      this.ctx.networks.remove(n.name);
      await removeBridge(n);
      this.event('destroy', n);
      removed.push(n.name);
    }
    return removed;
  }

  /** Connects a container (at once when running, and at every later start). */
  async connect(network: string, container: string, o: ConnectOptions = {}): Promise<void> {
    await connectNetwork(this.ctx, network, container, o);
    const rec = this.ctx.containers.get(container);
    this.event('connect', this.ctx.networks.get(network), { container: rec.id });
  }

  /** Disconnects a container. */
  async disconnect(network: string, container: string, force = false): Promise<void> {
    const rec = this.ctx.containers.get(container);
    await disconnectNetwork(this.ctx, network, container, force);
    this.event('disconnect', this.ctx.networks.get(network), { container: rec.id });
  }
}
