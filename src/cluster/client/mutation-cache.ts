import { type Informer, keyOf } from './informer.js';
import type { KubeObject } from './kube-client.js';

/** A resourceVersion as a number to compare, or NaN when it is not one. */
const revision = (o: KubeObject) => Number(o.metadata.resourceVersion ?? Number.NaN);

/**
 * The objects a controller wrote itself, kept until its informer shows them (after client-go's
 * MutationCache). A controller's next sync of an object often starts before the watch has
 * delivered its own last write: it then reads the older copy, finds the status it just wrote
 * missing, and sends it again with the older resourceVersion, which the API answers with 409
 * Conflict (two of every three ReplicaSet status writes of a 100-pod Deployment), and the
 * retry costs a request more. `get` answers the newer of the two copies instead.
 */
export class MutationCache {
  private readonly written = new Map<string, KubeObject>();

  constructor(private readonly informer: Pick<Informer, 'get'>) {}

  /** Remembers what the API answered to a write of the object (its new resourceVersion). */
  mutated(o: KubeObject): KubeObject {
    this.written.set(keyOf(o), o);
    return o;
  }

  /**
   * The informer's copy, or the one written when that is newer (same uid, higher
   * resourceVersion). A copy the informer has caught up with, or that belongs to a deleted
   * object, is forgotten here.
   */
  get(key: string): KubeObject | undefined {
    const cached = this.informer.get(key);
    const mine = this.written.get(key);
    if (!mine) return cached;
    if (cached && cached.metadata.uid === mine.metadata.uid && revision(mine) > revision(cached)) return mine;
    this.written.delete(key);
    return cached;
  }
}
