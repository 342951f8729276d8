/**
 * The generic REST operations on any registered resource: get, list, create, update,
 * patch, delete, over the revisioned store. Every write is one conditional store write,
 * so a stale resourceVersion is a 409 and nothing half-done is ever stored.
 */
import { isAlreadyExists, isConflict, isNotFound, unlessNotFound } from '../../core/errors.js';
import { asVersion, toStorage } from '../api/conversion.js';
import { crdStoragePrefix } from '../api/crd-validation.js';
import { applyDefaults } from '../api/defaults.js';
import { cloneJson } from '../api/json-clone.js';
import { objectType } from '../api/k8s-proto.js';
import { maxObjectBytes } from '../api/limits.js';
import { metaTime } from '../api/meta-time.js';
import {
  asStored,
  decode,
  encode,
  nameSuffix,
  objectKey,
  resourcePrefix,
  specOf,
  stampNew,
} from '../api/objects.js';
import { jsonPatch, mergePatch, strategicMerge } from '../api/patch.js';
import { apiVersionOf, type ResourceInfo, tracksGeneration } from '../api/resources.js';
import { fieldMatcher, type KubeObject, labelMatcher } from '../api/selectors.js';
import {
  ApiError,
  alreadyExistsError,
  badRequest,
  conflictError,
  expired,
  invalidError,
  notFoundError,
} from '../api/status.js';
import { validate, validateCreate, validateUpdate } from '../api/validate.js';
import type { Store } from '../store/store.js';
import type { AdmissionChain, AdmissionRequest, Operation } from './admission/chain.js';
import { defaultAdmission } from './admission/plugins.js';
import { type Allocation, ServiceAllocator } from './allocators.js';
import type { UserInfo } from './auth.js';
import { union } from './authz/attributes.js';
import { gracePeriodFor } from './graceful-delete.js';
import { fieldsOf, recordUpdate, serverSideApply, setManaged } from './managed-fields.js';
import { parseResourceVersion } from './params.js';
import type { ServiceCidr } from './service-cidr.js';
import { checkDecoding, unknownFieldMessage } from './strict.js';

/** Options common to writes, from the query string. */
export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: string;
  /** The managedFields operation to record (Apply for server-side apply). Default: Update. */
  operation?: 'Apply' | 'Update';
  /** Which part a write may change: the main resource ignores status, `status` changes only status. */
  subresource?: string;
  /** Receives each warning for the client (an unknown field under fieldValidation=Warn). */
  onWarning?: (text: string) => void;
  /**
   * Checks the object about to be stored (and the stored one, on update) on behalf of the
   * requesting user, after validation; throws to refuse it (RBAC's escalation check).
   */
  admit?: (next: KubeObject, old: KubeObject | undefined) => void;
  /** Receives each annotation for the request's audit events (Pod Security's audit mode). */
  onAuditAnnotation?: (key: string, value: string) => void;
  /** Who asks, for admission. */
  user?: UserInfo;
}

/** The admission chain's view of one write. */
function admissionRequest(
  r: ResourceInfo,
  operation: Operation,
  o: KubeObject,
  old: KubeObject | undefined,
  opts: WriteOptions,
): AdmissionRequest {
  return {
    resource: r,
    operation,
    ...(opts.subresource ? { subresource: opts.subresource } : {}),
    ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
    name: o.metadata?.name ?? '',
    object: o,
    ...(old ? { oldObject: old } : {}),
    ...(opts.user ? { user: opts.user } : {}),
    dryRun: !!opts.dryRun,
    warn: (text) => opts.onWarning?.(text),
    annotate: (key, value) => opts.onAuditAnnotation?.(key, value),
  };
}

export interface ListQuery {
  resourceVersionMatch?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

const target = (r: ResourceInfo, name?: string) => ({
  group: r.group,
  resource: r.plural,
  ...(name !== undefined ? { name } : {}),
});

const SYSTEM_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);
const isNamespace = (r: ResourceInfo) => r.kind === 'Namespace' && !r.group;
const isService = (r: ResourceInfo) => r.kind === 'Service' && !r.group;
const specFinalizers = (o: KubeObject) => (o.spec as { finalizers?: string[] } | undefined)?.finalizers;

/**
 * Encodes an object for the store, refusing one over the stored-object limit whatever made it
 * (a body in any format, a patch, server-side apply): upstream etcd refuses it ("request is
 * too large"); here it is a 413 RequestEntityTooLarge Status.
 */
function encodeSized(r: ResourceInfo, o: KubeObject): string {
  const text = encode(o);
  const bytes = Buffer.byteLength(text);
  if (bytes > maxObjectBytes)
    throw new ApiError(
      413,
      'RequestEntityTooLarge',
      `Request entity too large: ${r.plural} "${o.metadata?.name ?? ''}" would be stored as ${bytes} bytes, over the limit of ${maxObjectBytes}`,
      {
        ...(o.metadata?.name ? { name: o.metadata.name } : {}),
        ...(r.group ? { group: r.group } : {}),
        kind: r.plural,
      },
    );
  return text;
}

/** Hook the server calls after a successful write (CRD registration). */
export type WriteHook = (r: ResourceInfo, obj: KubeObject | undefined, old: KubeObject | undefined) => void;

type DeleteOptions = WriteOptions & {
  preconditionUid?: string;
  preconditionRV?: string;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
};

export class RestStorage {
  private services: ServiceAllocator;

  constructor(
    private store: Store,
    private onWrite: WriteHook = () => {},
    // The server passes a chain with its authorizer; without one, no signer may be approved or signed for.
    private readonly admission: AdmissionChain = defaultAdmission(store, union()),
    serviceCidr?: ServiceCidr,
  ) {
    this.services = new ServiceAllocator(store, serviceCidr);
  }

  private written(r: ResourceInfo, next: KubeObject | undefined, prev: KubeObject | undefined): void {
    this.admission.written(r);
    this.onWrite(r, next, prev);
  }

  async get(r: ResourceInfo, ns: string | undefined, name: string): Promise<KubeObject> {
    const kv = await this.store.get(objectKey(r, ns, name));
    if (!kv) throw notFoundError(target(r, name));
    return decode(kv);
  }

  /** A list with selectors and pagination; the continue token is the last key and the list revision. */
  async list(
    r: ResourceInfo,
    ns: string | undefined,
    q: ListQuery,
  ): Promise<{ items: KubeObject[]; revision: number; continue?: string; remaining?: number }> {
    const lm = labelMatcher(q.labelSelector);
    const fm = fieldMatcher(q.fieldSelector, r.kind);
    const prefix = resourcePrefix(r, ns);
    let startAfter: string | undefined;
    let revision: number | undefined;
    if (q.continue) {
      try {
        const c = JSON.parse(Buffer.from(q.continue, 'base64url').toString()) as { k: string; rv: number };
        startAfter = c.k;
        revision = c.rv;
      } catch {
        throw badRequest(`invalid continue token: "${q.continue}"`);
      }
    } else if (q.resourceVersion) {
      const rv = parseResourceVersion(q.resourceVersion);
      // A paged or Exact list is read as of that revision (410 once compacted); otherwise "not older than" reads now.
      if (rv > 0 && (q.limit || q.resourceVersionMatch === 'Exact')) revision = rv;
    }
    const limit = q.limit && q.limit > 0 ? q.limit : 0;
    const items: KubeObject[] = [];
    let more = false;
    let lastKey: string | undefined;
    let rev = revision ?? 0;
    let remaining: number | undefined;
    for (;;) {
      let page: Awaited<ReturnType<Store['list']>>;
      try {
        page = await this.store.list(prefix, {
          ...(limit ? { limit: Math.max(limit, 50) } : {}),
          ...(startAfter ? { startAfter } : {}),
          ...(rev ? { revision: rev } : {}),
        });
      } catch (e) {
        if ((e as { code?: string }).code === 'Gone' && !q.continue)
          throw expired(`too old resource version: ${revision}`);
        if ((e as { code?: string }).code === 'Gone')
          throw expired(
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results.',
          );
        throw e;
      }
      rev = page.revision;
      let i = 0;
      for (; i < page.items.length; i++) {
        const kv = page.items[i] as (typeof page.items)[number];
        if (limit && items.length >= limit) break;
        lastKey = kv.key;
        const o = decode(kv);
        if (lm(o) && fm(o)) items.push(o);
      }
      if (limit && items.length >= limit) {
        more = i < page.items.length || page.more;
        // Upstream counts what is left only when no selector filters it (the count is of keys).
        if (more && !q.labelSelector && !q.fieldSelector)
          remaining = page.items.length - i + (page.more ? (page.remaining ?? 0) : 0);
        break;
      }
      if (!page.more) break;
      startAfter = page.items[page.items.length - 1]?.key;
    }
    return {
      items: items.map((o) => asVersion(r, o)),
      revision: rev,
      ...(more && lastKey
        ? { continue: Buffer.from(JSON.stringify({ k: lastKey, rv: rev })).toString('base64url') }
        : {}),
      ...(more && remaining !== undefined ? { remaining } : {}),
    };
  }

  /** Checks the body's kind, names and namespace, defaults and validates it. */
  private prepare(
    r: ResourceInfo,
    ns: string | undefined,
    body: KubeObject,
    opts: WriteOptions,
    name?: string,
  ): KubeObject {
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw badRequest(
        'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml',
      );
    if (body.kind !== undefined && body.kind !== r.kind)
      throw badRequest(
        `the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(r)})`.replace(
          /API version in the data.*$/,
          `kind in the data (${body.kind}) does not match the expected kind (${r.kind})`,
        ),
      );
    if (
      body.apiVersion !== undefined &&
      body.apiVersion !== apiVersionOf(r) &&
      !(r.group === 'autoscaling' && body.apiVersion?.startsWith('autoscaling/'))
    )
      throw badRequest(
        `the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(r)})`,
      );
    const o = cloneJson(body);
    // Fields the kind does not have are dropped (unless Strict refuses them), as upstream's
    // decoding drops them; Warn says which.
    const dropped = checkDecoding(r, o, opts.fieldValidation === 'Strict');
    if (opts.fieldValidation !== 'Ignore') for (const f of dropped) opts.onWarning?.(unknownFieldMessage(f));
    o.apiVersion = apiVersionOf(r);
    o.kind = r.kind;
    o.metadata ??= {};
    Object.assign(o, toStorage(r, o));
    const m = o.metadata;
    if (r.namespaced) {
      if (m.namespace && ns && m.namespace !== ns)
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      m.namespace = ns ?? m.namespace ?? 'default';
    } else delete m.namespace;
    if (name !== undefined && m.name !== undefined && m.name !== name)
      throw badRequest(`the name of the object (${m.name}) does not match the name on the URL (${name})`);
    if (name !== undefined) m.name = name;
    return o;
  }

  private check(r: ResourceInfo, o: KubeObject, old?: KubeObject, create = false): void {
    const causes = [
      ...validate(r, o),
      ...(old ? validateUpdate(r, o, old) : []),
      ...(create ? validateCreate(r, o) : []),
    ];
    if (causes.length) throw invalidError(r.group, r.kind, o.metadata?.name ?? '', causes);
  }

  async create(
    r: ResourceInfo,
    ns: string | undefined,
    body: KubeObject,
    opts: WriteOptions,
  ): Promise<KubeObject> {
    const o = this.prepare(r, ns, body, opts);
    const m = o.metadata as NonNullable<KubeObject['metadata']>;
    if (!m.name && m.generateName) m.name = `${m.generateName}${nameSuffix()}`;
    if (!m.name)
      throw invalidError(r.group, r.kind, '', [
        {
          field: 'metadata.name',
          reason: 'FieldValueRequired',
          message: 'Required value: name or generateName is required',
        },
      ]);
    if (r.namespaced && m.namespace) {
      const nsKv = await this.store.get(`/registry/core/namespaces/${m.namespace}`);
      if (!nsKv) throw notFoundError({ group: '', resource: 'namespaces', name: m.namespace });
      // Events too, as upstream's NamespaceLifecycle admission: recorders drop the refusal.
      if (decode(nsKv).metadata?.deletionTimestamp)
        throw new ApiError(
          403,
          'Forbidden',
          `${r.plural} "${m.name ?? ''}" is forbidden: unable to create new content in namespace ${m.namespace} because it is being terminated`,
          {
            name: m.name ?? '',
            kind: r.plural,
            causes: [
              {
                reason: 'NamespaceTerminating',
                message: `namespace ${m.namespace} is being terminated`,
                field: 'metadata.namespace',
              },
            ],
          },
        );
    }
    stampNew(o);
    if (!tracksGeneration(r)) delete o.metadata?.generation;
    applyDefaults(r, o);
    // A kind with a status reads back with one, empty until a controller fills it: generated
    // clients (the Python client's models) expect the field.
    if (r.subresources?.includes('status')) o.status ??= {};
    const attrs = admissionRequest(r, 'CREATE', o, undefined, opts);
    await this.admission.admit(attrs);
    // StorageObjectInUseProtection: a claim in use by a pod, or a bound volume, is deleted
    // only once the pvc-protection / pv-protection controllers see it is free.
    if ((r.kind === 'PersistentVolumeClaim' || r.kind === 'PersistentVolume') && !r.group) {
      const fin =
        r.kind === 'PersistentVolume' ? 'kubernetes.io/pv-protection' : 'kubernetes.io/pvc-protection';
      const m = o.metadata as { finalizers?: string[] };
      if (!(m.finalizers ?? []).includes(fin)) m.finalizers = [...(m.finalizers ?? []), fin];
    }
    this.check(r, o, undefined, true);
    opts.admit?.(o, undefined);
    await this.admission.validate(attrs);
    let addresses: Allocation | undefined;
    if (isService(r) && !opts.dryRun) {
      // An existing name answers AlreadyExists, not an allocation error about its own address.
      if (await this.store.get(objectKey(r, m.namespace, m.name)))
        throw alreadyExistsError(target(r, m.name));
      addresses = await this.services.allocate(o);
    }
    if (opts.fieldManager)
      setManaged(
        o,
        opts.fieldManager,
        opts.operation ?? 'Update',
        undefined,
        opts.operation === 'Apply' ? fieldsOf(body) : undefined,
      );
    if (opts.dryRun) {
      if (await this.store.get(objectKey(r, m.namespace, m.name)))
        throw alreadyExistsError(target(r, m.name));
      return o;
    }
    try {
      const kv = await this.store.create(objectKey(r, m.namespace, m.name), encodeSized(r, o));
      const out = asStored(o, kv);
      this.written(r, out, undefined);
      return out;
    } catch (e) {
      await addresses?.undo();
      if (isAlreadyExists(e)) throw alreadyExistsError(target(r, m.name));
      throw e;
    }
  }

  /**
   * Replaces an object. A `metadata.resourceVersion` in the body must match the stored one
   * (409 otherwise). The main resource keeps the stored status when the kind has a status
   * subresource; the status subresource changes only status.
   */
  async update(
    r: ResourceInfo,
    ns: string | undefined,
    name: string,
    body: KubeObject,
    opts: WriteOptions,
  ): Promise<KubeObject> {
    const o = this.prepare(r, ns, body, opts, name);
    const key = objectKey(r, ns, name);
    const kv = await this.store.get(key);
    if (!kv) throw notFoundError(target(r, name));
    const old = decode(kv);
    const want = body.metadata?.resourceVersion;
    if (want && want !== String(kv.modRevision)) throw conflictError(target(r, name));
    let next: KubeObject;
    if (opts.subresource === 'status') next = { ...old, status: o.status };
    // A CSR's approval subresource changes its conditions only (Approved, Denied).
    else if (opts.subresource === 'approval')
      next = {
        ...old,
        status: {
          ...(old.status ?? {}),
          conditions: (o.status as { conditions?: unknown } | undefined)?.conditions,
        },
      };
    else if (opts.subresource === 'finalize')
      next = { ...old, spec: { ...(old.spec ?? {}), finalizers: specFinalizers(o) ?? [] } };
    // A pod's ephemeralcontainers subresource changes its ephemeral containers only.
    else if (opts.subresource === 'ephemeralcontainers')
      next = {
        ...old,
        spec: {
          ...(old.spec ?? {}),
          ephemeralContainers: (o.spec as Record<string, unknown>)?.ephemeralContainers,
        },
      };
    else {
      next = o;
      if (r.subresources?.includes('status') && !r.custom) next.status = old.status;
      else if (r.custom && r.subresources?.includes('status')) next.status = old.status;
      // A namespace's spec.finalizers change only through its finalize subresource.
      if (isNamespace(r)) next.spec = { ...(next.spec ?? {}), finalizers: specFinalizers(old) ?? [] };
      // A pod's ephemeral containers change only through their subresource.
      const ephemeral = (old.spec as { ephemeralContainers?: unknown } | undefined)?.ephemeralContainers;
      if (r.kind === 'Pod' && !r.group && ephemeral)
        next.spec = { ...(next.spec ?? {}), ephemeralContainers: ephemeral };
    }
    const om = old.metadata as NonNullable<KubeObject['metadata']>;
    next.metadata ??= {};
    const nm = next.metadata;
    nm.uid = om.uid;
    nm.creationTimestamp = om.creationTimestamp;
    if (om.deletionTimestamp) nm.deletionTimestamp = om.deletionTimestamp;
    if (
      opts.subresource &&
      ['status', 'finalize', 'approval', 'ephemeralcontainers'].includes(opts.subresource)
    )
      next.metadata = { ...om };
    if (tracksGeneration(r)) nm.generation = (om.generation as number | undefined) ?? 1;
    else delete nm.generation;
    if (opts.subresource !== 'status' && opts.subresource !== 'finalize') applyDefaults(r, next);
    if (r.kind === 'Service' && !r.group) keepServiceAddresses(next, old);
    if (tracksGeneration(r) && specOf(next) !== specOf(old))
      next.metadata = { ...next.metadata, generation: ((om.generation as number) ?? 1) + 1 };
    const attrs = admissionRequest(r, 'UPDATE', next, old, opts);
    await this.admission.admit(attrs);
    this.check(r, next, opts.subresource === 'status' ? undefined : old);
    opts.admit?.(next, old);
    await this.admission.validate(attrs);
    // A PUT that leaves managedFields out keeps them (upstream's rule); an explicit list replaces them.
    if (nm.managedFields === undefined && om.managedFields !== undefined && opts.subresource !== 'status')
      nm.managedFields = om.managedFields;
    if (opts.fieldManager) recordUpdate(next, old, opts.fieldManager, opts.subresource);
    if (opts.dryRun) return next;
    const addresses =
      isService(r) && opts.subresource !== 'status' ? await this.services.allocate(next, old) : undefined;
    // The last finalizer removed from an object being deleted: delete it now.
    if (
      next.metadata?.deletionTimestamp &&
      !(next.metadata?.finalizers as string[] | undefined)?.length &&
      !(isNamespace(r) && specFinalizers(next)?.length)
    ) {
      try {
        const gone = await this.store.delete(key, kv.modRevision);
        const out = decode(gone);
        // Gone: what it held, and anything taken for the version that was never stored, is free.
        await addresses?.undo();
        if (isService(r)) await this.services.release(out);
        this.written(r, undefined, out);
        return out;
      } catch (e) {
        await addresses?.undo();
        if (isConflict(e)) throw conflictError(target(r, name));
        throw e;
      }
    }
    try {
      const out = asStored(next, await this.store.update(key, encodeSized(r, next), kv.modRevision));
      if (isService(r)) await this.services.release(old, out);
      this.written(r, out, old);
      return out;
    } catch (e) {
      await addresses?.undo();
      if (isConflict(e)) throw conflictError(target(r, name));
      if (isNotFound(e)) throw notFoundError(target(r, name));
      throw e;
    }
  }

  /** Applies a patch to the current object and stores it, retrying when someone wrote in between. */
  async patch(
    r: ResourceInfo,
    ns: string | undefined,
    name: string,
    type: string,
    patch: unknown,
    opts: WriteOptions & { force?: boolean },
  ): Promise<KubeObject> {
    for (let attempt = 0; ; attempt++) {
      let cur: KubeObject | undefined;
      try {
        cur = await this.get(r, ns, name);
      } catch (e) {
        if (type === 'apply' && isNotFound(e))
          return this.create(r, ns, patch as KubeObject, { ...opts, operation: 'Apply' });
        throw e;
      }
      const rv = cur.metadata?.resourceVersion;
      let next: KubeObject;
      if (type === 'json') next = jsonPatch(cur, patch) as KubeObject;
      else if (type === 'merge') next = mergePatch(cur, patch) as KubeObject;
      else if (type === 'strategic') next = strategicMerge(cur, patch, objectType(cur)) as KubeObject;
      else if (type === 'apply')
        next = serverSideApply(cur, patch as KubeObject, opts.fieldManager ?? '', opts.force);
      else
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
        );
      // A resourceVersion the patch itself sets is a precondition; otherwise we patch what we read.
      const patched = next.metadata?.resourceVersion;
      const precondition = patched !== rv;
      if (!precondition) next.metadata = { ...next.metadata, resourceVersion: rv };
      try {
        return await this.update(r, ns, name, next, {
          ...opts,
          fieldManager: type === 'apply' ? undefined : opts.fieldManager,
        });
      } catch (e) {
        if (!precondition && attempt < 5 && e instanceof ApiError && e.reason === 'Conflict') continue;
        throw e;
      }
    }
  }

  /**
   * Deletes an object. One with finalizers only gets a deletionTimestamp; it goes when the
   * last finalizer is removed. A namespace takes its contents with it.
   */
  async delete(
    r: ResourceInfo,
    ns: string | undefined,
    name: string,
    opts: DeleteOptions,
  ): Promise<KubeObject> {
    // Without preconditions a DELETE applies to whatever is stored when it lands, as
    // Kubernetes' GuaranteedUpdate retries: a status write racing it is no reason to answer 409.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.deleteOnce(r, ns, name, opts);
      } catch (e) {
        if (opts.preconditionUid || opts.preconditionRV || attempt >= 9 || !isConflict(e)) throw e;
      }
    }
  }

  private async deleteOnce(
    r: ResourceInfo,
    ns: string | undefined,
    name: string,
    opts: DeleteOptions,
  ): Promise<KubeObject> {
    const key = objectKey(r, ns, name);
    const kv = await this.store.get(key);
    if (!kv) throw notFoundError(target(r, name));
    const cur = decode(kv);
    if (opts.preconditionUid && cur.metadata?.uid !== opts.preconditionUid)
      throw conflictError(target(r, name));
    if (opts.preconditionRV && cur.metadata?.resourceVersion !== opts.preconditionRV)
      throw conflictError(target(r, name));
    // Judged on what this attempt deletes: a retry after a conflict judges the object anew.
    if (opts.user) await this.admission.validateDelete(admissionRequest(r, 'DELETE', cur, cur, opts));
    if (opts.dryRun) return cur;
    if (isNamespace(r)) {
      const ended = await this.terminateNamespace(r, key, kv.modRevision, cur);
      if (ended) return ended;
    }
    // Foreground and orphan deletion are finalizers the garbage collector honours: it deletes
    // the dependents first, or frees them, and then removes the finalizer.
    const policyFinalizer =
      opts.propagationPolicy === 'Foreground'
        ? 'foregroundDeletion'
        : opts.propagationPolicy === 'Orphan'
          ? 'orphan'
          : undefined;
    const had = (cur.metadata?.finalizers as string[] | undefined) ?? [];
    const finalizers = policyFinalizer && !had.includes(policyFinalizer) ? [...had, policyFinalizer] : had;
    const grace = gracePeriodFor(r, cur, opts.gracePeriodSeconds);
    const shorter =
      grace > 0 &&
      (cur.metadata?.deletionGracePeriodSeconds === undefined ||
        grace < (cur.metadata.deletionGracePeriodSeconds as number));
    if (grace > 0 && (shorter || finalizers !== had)) {
      // Marked, not deleted: the pod's node stops it and then deletes it with grace 0.
      const next = {
        ...cur,
        metadata: {
          ...cur.metadata,
          finalizers: finalizers.length ? finalizers : undefined,
          deletionTimestamp: metaTime(Date.now() + grace * 1000),
          deletionGracePeriodSeconds: grace,
        },
      };
      if (!next.metadata.finalizers) delete next.metadata.finalizers;
      const out = decode(await this.store.update(key, encodeSized(r, next), kv.modRevision));
      this.written(r, out, cur);
      return out;
    }
    if (grace > 0) return cur;
    if (finalizers.length) {
      if (cur.metadata?.deletionTimestamp && finalizers === had) return cur;
      const next = {
        ...cur,
        metadata: {
          ...cur.metadata,
          finalizers,
          deletionTimestamp: (cur.metadata?.deletionTimestamp as string | undefined) ?? metaTime(),
          deletionGracePeriodSeconds: 0,
        },
      };
      const out = decode(await this.store.update(key, encodeSized(r, next), kv.modRevision));
      this.written(r, out, cur);
      return out;
    }
    if (r.kind === 'CustomResourceDefinition' && r.group === 'apiextensions.k8s.io') {
      // A CRD takes its custom resources with it, and only those (never a built-in's keys).
      const prefix = crdStoragePrefix(cur);
      if (prefix) await this.deletePrefix(prefix);
    }
    try {
      const out = decode(await this.store.delete(key, kv.modRevision));
      if (isService(r)) await this.services.release(out);
      this.written(r, undefined, out);
      return out;
    } catch (e) {
      if (isConflict(e)) throw conflictError(target(r, name));
      if (isNotFound(e)) throw notFoundError(target(r, name));
      throw e;
    }
  }

  /**
   * Deleting a namespace starts its termination (Kubernetes' model): phase Terminating and a
   * deletionTimestamp; the namespace controller deletes what is in it and then removes the
   * `kubernetes` finalizer through `namespaces/NAME/finalize`, and the namespace goes with
   * the last finalizer. The system namespaces may not be deleted. Returns the terminating
   * namespace, or undefined when it has no finalizers left and is deleted now.
   */
  private async terminateNamespace(
    r: ResourceInfo,
    key: string,
    rev: number,
    cur: KubeObject,
  ): Promise<KubeObject | undefined> {
    const name = cur.metadata?.name as string;
    if (SYSTEM_NAMESPACES.has(name))
      throw new ApiError(
        403,
        'Forbidden',
        `namespaces "${name}" is forbidden: this namespace may not be deleted`,
        {
          name,
          kind: 'namespaces',
        },
      );
    // Namespaces stored before the finalizer existed get it now: their contents must go too.
    const finalizers = specFinalizers(cur) ?? ['kubernetes'];
    if (!finalizers.length && !(cur.metadata?.finalizers as string[] | undefined)?.length) return undefined;
    if (cur.metadata?.deletionTimestamp) return cur;
    const next = {
      ...cur,
      metadata: { ...cur.metadata, deletionTimestamp: metaTime(), deletionGracePeriodSeconds: 0 },
      spec: { ...(cur.spec ?? {}), finalizers },
      status: { ...(cur.status ?? {}), phase: 'Terminating' },
    };
    const out = decode(await this.store.update(key, encodeSized(r, next), rev));
    this.written(r, out, cur);
    return out;
  }

  private async deletePrefix(prefix: string): Promise<void> {
    for (const item of (await this.store.list(prefix)).items) {
      await unlessNotFound(this.store.delete(item.key));
    }
  }

  async ensure(r: ResourceInfo, ns: string | undefined, body: KubeObject): Promise<void> {
    if (await this.store.get(objectKey(r, ns, body.metadata?.name ?? ''))) return;
    try {
      await this.create(r, ns, body, {});
    } catch (e) {
      if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
    }
  }
}

/** A Service keeps its allocated ClusterIP and node ports when an update leaves them out. */
function keepServiceAddresses(next: KubeObject, old: KubeObject): void {
  type Spec = {
    clusterIP?: string;
    clusterIPs?: string[];
    ports?: { port?: number; protocol?: string; nodePort?: number }[];
  };
  const ns = (next.spec ?? {}) as Spec;
  const os = (old.spec ?? {}) as Spec;
  if (!ns.clusterIP && os.clusterIP) {
    ns.clusterIP = os.clusterIP;
    ns.clusterIPs = os.clusterIPs ?? [os.clusterIP];
  }
  for (const p of ns.ports ?? []) {
    if (p.nodePort !== undefined) continue;
    const prev = os.ports?.find((q) => q.port === p.port && (q.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
    if (prev?.nodePort !== undefined) p.nodePort = prev.nodePort;
  }
  next.spec = ns;
}
