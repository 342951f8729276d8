/**
 * The admission chain (kube-apiserver's admission plugins): after a write is decoded and
 * defaulted, every plugin may change it (`admit`, in order); after it passes validation, every
 * plugin may refuse it (`validate`, in order). A plugin throws an ApiError to refuse.
 */
import type { ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/selectors.js';
import { ApiError } from '../../api/status.js';
import type { UserInfo } from '../auth.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

/** What a plugin sees of one write. */
export interface AdmissionRequest {
  resource: ResourceInfo;
  operation: Operation;
  /** `status`, `finalize`... for a subresource write; absent for the main resource. */
  subresource?: string;
  namespace?: string;
  name: string;
  /** The object to be stored; `admit` may change it. */
  object: KubeObject;
  /** The stored object an update replaces. */
  oldObject?: KubeObject;
  user?: UserInfo;
  /** A dry run: decide, but change nothing outside the object (no quota charged). */
  dryRun: boolean;
  /** Adds a warning to the response (kubectl prints it). */
  warn(text: string): void;
  /** Adds an annotation to the request's audit events. */
  annotate?(key: string, value: string): void;
}

/** One admission plugin. Either phase may be left out. */
export interface AdmissionPlugin {
  readonly name: string;
  /** Mutating phase: fill in what the object lacks. */
  admit?(req: AdmissionRequest): Promise<void>;
  /** Validating phase: refuse (throw) or let the write through. */
  validate?(req: AdmissionRequest): Promise<void>;
  /**
   * Refuse (throw) or let through the deletion of `req.object`, the stored object (operation
   * DELETE), read in the same attempt that deletes it. Only plugins that judge deletions
   * have it; `admit` and `validate` never see a DELETE.
   */
  validateDelete?(req: AdmissionRequest): Promise<void>;
  /** Called after any successful write, for plugins that cache what they read. */
  written?(r: ResourceInfo): void;
}

/** The plugins of one API server, run in order. */
export class AdmissionChain {
  constructor(private readonly plugins: readonly AdmissionPlugin[]) {}

  async admit(req: AdmissionRequest): Promise<void> {
    for (const p of this.plugins) await p.admit?.(req);
  }

  async validate(req: AdmissionRequest): Promise<void> {
    for (const p of this.plugins) await p.validate?.(req);
  }

  async validateDelete(req: AdmissionRequest): Promise<void> {
    for (const p of this.plugins) await p.validateDelete?.(req);
  }

  written(r: ResourceInfo): void {
    for (const p of this.plugins) p.written?.(r);
  }
}

/** Whether a request is about the core group's kind `kind` (a Pod, a Service...). */
export const isCore = (req: AdmissionRequest, kind: string): boolean =>
  req.resource.kind === kind && !req.resource.group;

/** Kubernetes' 403 for an admission refusal: `pods "NAME" is forbidden: REASON`. */
export function forbidden(req: AdmissionRequest, reason: string): ApiError {
  const r = req.resource;
  return new ApiError(
    403,
    'Forbidden',
    `${r.plural}${r.group ? `.${r.group}` : ''} "${req.name}" is forbidden: ${reason}`,
    {
      name: req.name,
      ...(r.group ? { group: r.group } : {}),
      kind: r.plural,
    },
  );
}

/**
 * A value read from the store for many writes (the default PriorityClass, the default
 * StorageClass), read again at most once a second, and at once after a write of its kind.
 */
export class ShortLived<T> {
  private at = 0;
  private value?: T;
  constructor(private readonly load: () => Promise<T>) {}

  async get(): Promise<T> {
    const now = Date.now();
    if (!this.at || now - this.at > 1000) {
      this.value = await this.load();
      this.at = now;
    }
    return this.value as T;
  }

  clear(): void {
    this.at = 0;
  }
}
