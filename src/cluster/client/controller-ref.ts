import { isNotFound } from '../../core/errors.js';
import type { KubeObject } from './kube-client.js';

/** The owner reference a controller puts on what it controls. */
export interface ControllerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: true;
  blockOwnerDeletion: true;
}

export function controllerRefOf(owner: KubeObject, apiVersion: string, kind: string): ControllerRef {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** How claiming changes an object: a KubeClient patch in production, a recorder in tests. */
export interface ClaimActions {
  /** Writes these ownerReferences on the object (guarded by its uid and resourceVersion). */
  setOwners(obj: KubeObject, ownerReferences: readonly object[]): Promise<unknown>;
  /**
   * A live check that the owner may still adopt (upstream's `RecheckDeletionTimestamp`): the
   * object with this uid exists and is not being deleted. Asked once per claim, before the
   * first adoption.
   */
  canAdopt?(): Promise<boolean>;
}

/**
 * ControllerRef claiming (after Kubernetes' `controller_ref_manager.go`): given every
 * candidate in the owner's namespace, returns the ones the owner controls after
 *  - adopting orphans (no controller reference) that match its selector, unless the owner
 *    or the orphan is being deleted;
 *  - releasing the ones it controls that no longer match (unless the owner is being deleted:
 *    the garbage collector takes them);
 * and leaves alone what another controller owns. An object that vanished while being
 * adopted or released is skipped; any other failure is thrown after the rest are done.
 */
export async function claimObjects(
  owner: KubeObject,
  ref: ControllerRef,
  matches: (o: KubeObject) => boolean,
  candidates: readonly KubeObject[],
  act: ClaimActions,
): Promise<KubeObject[]> {
  const claimed: KubeObject[] = [];
  const ownerDeleting = !!owner.metadata.deletionTimestamp;
  let adoptable: Promise<boolean> | undefined;
  let firstError: unknown;
  const attempt = async (fn: () => Promise<unknown>): Promise<boolean> => {
    try {
      await fn();
      return true;
    } catch (e) {
      if (!isNotFound(e)) firstError ??= e;
      return false;
    }
  };
  for (const o of candidates) {
    const refs = o.metadata.ownerReferences ?? [];
    const controller = refs.find((r) => r.controller);
    if (controller) {
      if (controller.uid !== ref.uid) continue;
      if (matches(o)) claimed.push(o);
      else if (!ownerDeleting)
        await attempt(() =>
          act.setOwners(
            o,
            refs.filter((r) => r.uid !== ref.uid),
          ),
        );
      continue;
    }
    if (ownerDeleting || o.metadata.deletionTimestamp || !matches(o)) continue;
    adoptable ??= act.canAdopt?.() ?? Promise.resolve(true);
    if (!(await adoptable)) continue;
    if (await attempt(() => act.setOwners(o, [...refs, ref]))) claimed.push(o);
  }
  if (firstError !== undefined) throw firstError;
  return claimed;
}
