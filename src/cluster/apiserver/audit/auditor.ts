/**
 * Audit events for API requests, in audit.k8s.io/v1 Event form. The handler tells the
 * auditor who asks for what ({@link AuditHooks}) once it knows; the auditor decides the level
 * from the policy when the response starts, and writes RequestReceived, then ResponseStarted
 * (watches only, as upstream's long-running requests), then ResponseComplete when the
 * response ends, or Panic when the handler throws. Requests that never authenticate
 * (health checks, 401s) are not audited. Request bodies are logged at Request and
 * RequestResponse, response bodies at RequestResponse only, so Metadata never holds a
 * Secret's data.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { metaMicroTime } from '../../api/meta-time.js';
import { LocalResponse } from '../local-transport.js';
import type { AuditLog } from './audit-log.js';
import { type AuditAttributes, type AuditDecision, decide, type Policy, type Stage } from './policy.js';

/** What the handler tells the auditor about a request. */
export interface AuditHooks {
  /** Who made the request and what it asks for; a later call (after routing) replaces an earlier one. */
  attributes(req: IncomingMessage, attrs: AuditAttributes): void;
  /** The decoded request body. */
  requestObject(req: IncomingMessage, body: unknown): void;
  /** An annotation on the request's events (the authorization decision). */
  annotate(req: IncomingMessage, key: string, value: string): void;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

interface Pending {
  id: string;
  received: Date;
  attrs?: AuditAttributes;
  decision?: AuditDecision;
  requestObject?: unknown;
  responseText?: string;
  /** The answer's object, when it was handed over without text (a caller in this process). */
  responseObject?: unknown;
  annotations?: Record<string, string>;
  receivedSent?: boolean;
  /** ResponseComplete or Panic was written: nothing follows. */
  finished?: boolean;
}

/** Kubernetes' MicroTime: RFC 3339 with six fraction digits. */

/** The verb upstream's request info gives a resource request. */
export function resourceVerb(method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
      return named ? 'get' : watch ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

function withoutManagedFields(o: unknown): unknown {
  if (!o || typeof o !== 'object') return o;
  const v = o as { metadata?: Record<string, unknown>; items?: unknown[] };
  const out: Record<string, unknown> = { ...v };
  if (v.metadata?.managedFields !== undefined) {
    const { managedFields: _, ...meta } = v.metadata;
    out.metadata = meta;
  }
  if (Array.isArray(v.items)) out.items = v.items.map(withoutManagedFields);
  return out;
}

export class Auditor implements AuditHooks {
  private readonly pending = new WeakMap<IncomingMessage, Pending>();

  constructor(
    private readonly policy: Policy,
    private readonly log: AuditLog,
  ) {}

  attributes(req: IncomingMessage, attrs: AuditAttributes): void {
    const p = this.pending.get(req);
    if (p) p.attrs = attrs;
  }

  requestObject(req: IncomingMessage, body: unknown): void {
    const p = this.pending.get(req);
    if (!p) return;
    p.requestObject = body;
    // A create names its object in the body, not the path.
    const name = (body as { metadata?: { name?: string } } | null)?.metadata?.name;
    if (p.attrs?.resource && p.attrs.resource.name === undefined && name) p.attrs.resource.name = name;
  }

  annotate(req: IncomingMessage, key: string, value: string): void {
    const p = this.pending.get(req);
    if (p) p.annotations = { ...p.annotations, [key]: value };
  }

  /** The handler with audit events around it. */
  wrap(handler: Handler): Handler {
    return async (req, res) => {
      const p: Pending = { id: randomUUID(), received: new Date() };
      this.pending.set(req, p);
      res.setHeader('Audit-Id', p.id);
      const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
      res.writeHead = ((...args: unknown[]) => {
        if (p.attrs?.verb === 'watch') this.emit(p, 'ResponseStarted', res);
        return writeHead(...args);
      }) as typeof res.writeHead;
      const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
      res.end = ((...args: unknown[]) => {
        const chunk = args[0];
        const wanted = this.decision(p)?.level === 'RequestResponse' || res.statusCode >= 400;
        if (
          wanted &&
          (typeof chunk === 'string' || Buffer.isBuffer(chunk)) &&
          /json/.test(String(res.getHeader('content-type')))
        )
          p.responseText = chunk.toString();
        // An answer to a caller in this process is an object, not text.
        const local = wanted && res instanceof LocalResponse ? res.sentObject() : undefined;
        if (local) p.responseObject = local.value;
        return end(...args);
      }) as typeof res.end;
      res.once('close', () => this.emit(p, 'ResponseComplete', res));
      try {
        await handler(req, res);
      } catch (e) {
        this.emit(p, 'Panic', res, e);
        throw e;
      }
    };
  }

  private decision(p: Pending): AuditDecision | undefined {
    if (!p.attrs) return undefined;
    p.decision ??= decide(this.policy, p.attrs);
    return p.decision;
  }

  private emit(p: Pending, stage: Stage, res: ServerResponse, error?: unknown): void {
    const d = this.decision(p);
    if (!d || d.level === 'None' || p.finished) return;
    if (stage === 'ResponseComplete' || stage === 'Panic') p.finished = true;
    if (!p.receivedSent) {
      p.receivedSent = true;
      if (!d.omitStages.includes('RequestReceived')) this.log.write(this.event(p, d, 'RequestReceived', res));
    }
    if (d.omitStages.includes(stage)) return;
    this.log.write(this.event(p, d, stage, res, error));
  }

  private event(p: Pending, d: AuditDecision, stage: Stage, res: ServerResponse, error?: unknown): object {
    const a = p.attrs as AuditAttributes;
    const req = res.req;
    const groups = a.user.groups.includes('system:authenticated')
      ? a.user.groups
      : [...a.user.groups, 'system:authenticated'];
    const as = a.impersonatedUser;
    const forwarded = String(req.headers['x-forwarded-for'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const sourceIPs = [...forwarded, ...(req.socket.remoteAddress ? [req.socket.remoteAddress] : [])];
    const r = a.resource;
    const clean = (o: unknown) => (d.omitManagedFields ? withoutManagedFields(o) : o);
    let responseStatus: Record<string, unknown> | undefined;
    let responseObject: unknown;
    if (stage === 'Panic')
      responseStatus = {
        metadata: {},
        status: 'Failure',
        message: `APIServer panic'd: ${String(error)}`,
        reason: 'InternalError',
        code: 500,
      };
    else if (stage !== 'RequestReceived') {
      responseStatus = { metadata: {}, code: res.statusCode };
      if (stage === 'ResponseComplete' && (p.responseText || p.responseObject !== undefined)) {
        if (p.responseObject !== undefined) responseObject = p.responseObject;
        else
          try {
            responseObject = JSON.parse(p.responseText as string);
          } catch {
            // Not JSON after all (a protobuf or text body): there is no object to log.
            responseObject = undefined;
          }
        const st = responseObject as
          | { kind?: string; status?: string; reason?: string; message?: string }
          | undefined;
        if (res.statusCode >= 400 && st?.kind === 'Status')
          responseStatus = {
            metadata: {},
            status: st.status,
            message: st.message,
            reason: st.reason,
            code: res.statusCode,
          };
      }
    }
    return {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: d.level,
      auditID: p.id,
      stage,
      requestURI: req.url ?? '/',
      verb: a.verb,
      user: { username: a.user.name, groups },
      ...(as ? { impersonatedUser: { username: as.name, groups: as.groups } } : {}),
      sourceIPs,
      ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
      ...(r
        ? {
            objectRef: {
              resource: r.resource,
              ...(r.namespace ? { namespace: r.namespace } : {}),
              ...(r.name ? { name: r.name } : {}),
              ...(r.group ? { apiGroup: r.group } : {}),
              apiVersion: r.version,
              ...(r.subresource ? { subresource: r.subresource } : {}),
            },
          }
        : {}),
      ...(responseStatus ? { responseStatus } : {}),
      ...(d.level !== 'Metadata' && p.requestObject !== undefined
        ? { requestObject: clean(p.requestObject) }
        : {}),
      ...(d.level === 'RequestResponse' && responseObject !== undefined
        ? { responseObject: clean(responseObject) }
        : {}),
      requestReceivedTimestamp: metaMicroTime(p.received),
      stageTimestamp: metaMicroTime(stage === 'RequestReceived' ? p.received : new Date()),
      ...(p.annotations ? { annotations: p.annotations } : {}),
    };
  }
}
