import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { parse } from 'yaml';
import { BerthError, type ErrorCode } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { jsonCopy } from '../api/json-copy.js';

const log = logger('kube-client');

/** A Kubernetes object as the client sees it: typed enough to route, loose enough for every kind. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
      blockOwnerDeletion?: boolean;
    }[];
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    creationTimestamp?: string;
    finalizers?: string[];
  };
  // biome-ignore lint/suspicious/noExplicitAny: spec and status differ for every kind
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: spec and status differ for every kind
  status?: any;
  [k: string]: unknown;
}

export interface ObjectList {
  items: KubeObject[];
  metadata: { resourceVersion: string; continue?: string };
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

/** One request to an API server in the same process: what would have gone over HTTP. */
export interface LocalRequestInit {
  method: string;
  /** The path with its query, as a request line carries it. */
  path: string;
  headers: Record<string, string>;
  /** The body as JSON would carry it (a copy the server may keep and change). */
  body?: unknown;
}

/**
 * An API server in this process, reached without HTTP or JSON in between: requests go to
 * its handler with the client's headers (so authentication, authorization, admission and
 * audit are those of an HTTP request) and answers and watch events come back as objects
 * that are the receiver's own copies.
 */
export interface KubeTransport {
  request(init: LocalRequestInit): Promise<{ status: number; body: unknown }>;
  /**
   * A watch: `event` for each event, then `end` once, with the status and Status body when
   * the watch was refused. The returned function stops it (no `end` follows).
   */
  watch(
    init: LocalRequestInit,
    on: { event(e: WatchEvent): void; end(status?: number, body?: unknown): void },
  ): () => void;
}

/** Where a kind lives in the REST tree: `/api/v1` or `/apis/GROUP/VERSION`, its plural, namespaced or not. */
export interface Resource {
  base: string;
  plural: string;
  namespaced: boolean;
}

export const Resources = {
  pods: { base: '/api/v1', plural: 'pods', namespaced: true },
  nodes: { base: '/api/v1', plural: 'nodes', namespaced: false },
  events: { base: '/api/v1', plural: 'events', namespaced: true },
  replicasets: { base: '/apis/apps/v1', plural: 'replicasets', namespaced: true },
  deployments: { base: '/apis/apps/v1', plural: 'deployments', namespaced: true },
  leases: { base: '/apis/coordination.k8s.io/v1', plural: 'leases', namespaced: true },
  namespaces: { base: '/api/v1', plural: 'namespaces', namespaced: false },
  services: { base: '/api/v1', plural: 'services', namespaced: true },
  endpoints: { base: '/api/v1', plural: 'endpoints', namespaced: true },
  configmaps: { base: '/api/v1', plural: 'configmaps', namespaced: true },
  secrets: { base: '/api/v1', plural: 'secrets', namespaced: true },
  serviceaccounts: { base: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  persistentvolumes: { base: '/api/v1', plural: 'persistentvolumes', namespaced: false },
  persistentvolumeclaims: { base: '/api/v1', plural: 'persistentvolumeclaims', namespaced: true },
  statefulsets: { base: '/apis/apps/v1', plural: 'statefulsets', namespaced: true },
  daemonsets: { base: '/apis/apps/v1', plural: 'daemonsets', namespaced: true },
  controllerrevisions: { base: '/apis/apps/v1', plural: 'controllerrevisions', namespaced: true },
  jobs: { base: '/apis/batch/v1', plural: 'jobs', namespaced: true },
  cronjobs: { base: '/apis/batch/v1', plural: 'cronjobs', namespaced: true },
  endpointslices: { base: '/apis/discovery.k8s.io/v1', plural: 'endpointslices', namespaced: true },
  priorityclasses: { base: '/apis/scheduling.k8s.io/v1', plural: 'priorityclasses', namespaced: false },
  storageclasses: { base: '/apis/storage.k8s.io/v1', plural: 'storageclasses', namespaced: false },
  resourcequotas: { base: '/api/v1', plural: 'resourcequotas', namespaced: true },
  certificatesigningrequests: {
    base: '/apis/certificates.k8s.io/v1',
    plural: 'certificatesigningrequests',
    namespaced: false,
  },
  customresourcedefinitions: {
    base: '/apis/apiextensions.k8s.io/v1',
    plural: 'customresourcedefinitions',
    namespaced: false,
  },
  poddisruptionbudgets: { base: '/apis/policy/v1', plural: 'poddisruptionbudgets', namespaced: true },
  horizontalpodautoscalers: {
    base: '/apis/autoscaling/v2',
    plural: 'horizontalpodautoscalers',
    namespaced: true,
  },
} satisfies Record<string, Resource>;

/** The path of a collection or of one object (`name`), with an optional subresource. */
export function pathOf(r: Resource, namespace?: string, name?: string, sub?: string): string {
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${r.base}${ns}/${r.plural}${name ? `/${encodeURIComponent(name)}` : ''}${sub ? `/${sub}` : ''}`;
}

const codeFor = (status: number): ErrorCode =>
  status === 404
    ? 'NotFound'
    : status === 409
      ? 'Conflict'
      : status === 410
        ? 'Gone'
        : status === 401
          ? 'Unauthenticated'
          : status === 403
            ? 'PermissionDenied'
            : status === 422 || status === 400
              ? 'InvalidArgument'
              : 'Unavailable';

/** The BerthError for a watch the API refused with `status` (and the Status's message, when read). */
function watchRefused(plural: string, status: number, message?: string): BerthError {
  return new BerthError(codeFor(status), `watch ${plural}: ${status}${message ? ` ${message}` : ''}`);
}

/** The BerthError for a refused request, from the Status the API answered (or its text). */
function statusError(method: string, path: string, status: number, body: unknown, text?: string): BerthError {
  const st = (body !== null && typeof body === 'object' ? body : {}) as { message?: string; reason?: string };
  const msg = st.message ?? text ?? (typeof body === 'string' ? body : JSON.stringify(body));
  // A create that finds the name taken is AlreadyExists, not a write conflict.
  const code = status === 409 && st.reason === 'AlreadyExists' ? 'AlreadyExists' : codeFor(status);
  return new BerthError(code, `${method} ${path}: ${status} ${msg}`);
}

/**
 * A small Kubernetes REST client for the control plane's own loops and `berth sim`: JSON over
 * HTTPS with the kubeconfig's CA and bearer token, keep-alive, and Kubernetes `Status`
 * errors turned into BerthErrors (404 NotFound, 409 Conflict, 410 Gone...). With a
 * `transport` it talks to an API server in its own process instead (the node agent embedded
 * in `berth server`), with the same methods and errors.
 */
export class KubeClient {
  private agent: https.Agent | http.Agent;
  /** A Unix socket speaking plain HTTP to the same API (the server's own control plane). */
  private readonly socketPath?: string;
  /** The API server in this process, when requests go to it directly. */
  private readonly transport?: KubeTransport;
  /** The transport's open watches, stopped by close() as closing the sockets stops HTTP ones. */
  private readonly localWatches = new Set<() => void>();
  readonly server: string;
  /** The cluster CA (PEM) the client trusts, when it was given one. */
  readonly ca?: string;
  /** The bearer token the client sends, if it authenticates with one. */
  readonly token?: string;

  constructor(opts: {
    server: string;
    ca?: string;
    token?: string;
    cert?: string;
    key?: string;
    socketPath?: string;
    transport?: KubeTransport;
  }) {
    this.server = opts.server.replace(/\/$/, '');
    if (opts.ca) this.ca = opts.ca;
    this.token = opts.token;
    if (opts.socketPath) this.socketPath = opts.socketPath;
    if (opts.transport) this.transport = opts.transport;
    this.agent = opts.socketPath
      ? // A local socket is cheap: let every controller's calls be in flight at once.
        new http.Agent({ keepAlive: true, maxSockets: 128 })
      : KubeClient.httpsAgent(opts.ca, opts.cert, opts.key);
  }

  private static httpsAgent(ca?: string, cert?: string, key?: string): https.Agent {
    return new https.Agent({ keepAlive: true, maxSockets: 32, ca, cert, key });
  }

  /**
   * Authenticates with a new client certificate from now on (a node's renewed one). Every open
   * connection is closed, as the kubelet's transport does when its certificate rotates: the
   * API server checks a certificate's validity on each request, so connections made with the
   * old one would fail once it expires. Requests in flight fail; watches end and resume (their
   * informers relist or re-watch) on connections made with the new certificate.
   */
  useClientCertificate(cert: string, key: string): void {
    if (this.socketPath || this.token || this.transport)
      throw new BerthError('InvalidArgument', 'This client authenticates with a token, not a certificate');
    const old = this.agent;
    this.agent = KubeClient.httpsAgent(this.ca, cert, key);
    old.destroy();
  }

  /**
   * The same API with another bearer token, sharing this client's connections (the control
   * plane's controllers each write as their own identity over its one socket pool). Closing
   * either closes the connections of both.
   */
  withToken(token: string): KubeClient {
    const c = new KubeClient({
      server: this.server,
      token,
      ...(this.ca ? { ca: this.ca } : {}),
      ...(this.socketPath ? { socketPath: this.socketPath } : {}),
      ...(this.transport ? { transport: this.transport } : {}),
    });
    c.agent.destroy();
    c.agent = this.agent;
    return c;
  }

  /** Reads a kubeconfig file (its current context). */
  static fromKubeconfig(path: string): KubeClient {
    // biome-ignore lint/suspicious/noExplicitAny: kubeconfig YAML is checked field by field below
    const cfg = parse(readFileSync(path, 'utf8')) as any;
    const ctxName = cfg['current-context'];
    const ctx =
      (cfg.contexts ?? []).find((c: { name: string }) => c.name === ctxName)?.context ??
      cfg.contexts?.[0]?.context;
    const cluster = (cfg.clusters ?? []).find((c: { name: string }) => c.name === ctx?.cluster)?.cluster;
    const user = (cfg.users ?? []).find((u: { name: string }) => u.name === ctx?.user)?.user ?? {};
    if (!cluster?.server)
      throw new BerthError(
        'InvalidArgument',
        `Kubeconfig ${path} has no cluster server for its current context`,
      );
    const dec = (s?: string) => (s ? Buffer.from(s, 'base64').toString('utf8') : undefined);
    return new KubeClient({
      server: cluster.server,
      ca: dec(cluster['certificate-authority-data']),
      token: user.token,
      cert: user.token ? undefined : dec(user['client-certificate-data']),
      key: user.token ? undefined : dec(user['client-key-data']),
    });
  }

  close(): void {
    this.agent.destroy();
    for (const stop of this.localWatches) stop();
    this.localWatches.clear();
  }

  /** The headers of a request: JSON answers, the bearer token, the body's type. */
  private headers(contentType?: string): Record<string, string> {
    return {
      Accept: 'application/json',
      ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
      ...(contentType ? { 'Content-Type': contentType } : {}),
    };
  }

  /** A request through the in-process transport: answered as over HTTP, without the text. */
  private async localRequest<T>(
    transport: KubeTransport,
    method: string,
    path: string,
    body: unknown,
    contentType: string,
  ): Promise<T> {
    const withBody = body !== undefined;
    const answer = await transport.request({
      method,
      path,
      headers: this.headers(withBody ? contentType : undefined),
      ...(withBody ? { body: jsonCopy(body) } : {}),
    });
    if (answer.status >= 200 && answer.status < 300) return (answer.body ?? {}) as T;
    throw statusError(method, path, answer.status, answer.body);
  }

  /** One HTTP exchange over HTTPS, or plain HTTP on the local socket. */
  private send(
    path: string,
    options: https.RequestOptions,
    onResponse: (res: http.IncomingMessage) => void,
  ): http.ClientRequest {
    if (this.socketPath) return http.request({ ...options, socketPath: this.socketPath, path }, onResponse);
    return https.request(`${this.server}${path}`, options, onResponse);
  }

  /** One request; resolves with the parsed JSON body, rejects with the Status as a BerthError. */
  request<T = KubeObject>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    if (this.transport) return this.localRequest<T>(this.transport, method, path, body, contentType);
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = this.send(
        path,
        {
          method,
          agent: this.agent,
          headers: {
            Accept: 'application/json',
            ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
            ...(data ? { 'Content-Type': contentType, 'Content-Length': String(data.length) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              try {
                resolve((text ? JSON.parse(text) : {}) as T);
              } catch {
                reject(
                  new BerthError(
                    'Internal',
                    `${method} ${path}: the API answered with something other than JSON`,
                  ),
                );
              }
              return;
            }
            let st: unknown = text;
            try {
              st = JSON.parse(text);
            } catch {
              /* plain text */
            }
            reject(statusError(method, path, status, st, text));
          });
          res.on('error', (e) => reject(new BerthError('Unavailable', `${method} ${path}: ${e.message}`)));
        },
      );
      req.on('error', (e) => reject(new BerthError('Unavailable', `${method} ${path}: ${e.message}`)));
      req.end(data);
    });
  }

  list(r: Resource, namespace?: string, query = ''): Promise<ObjectList> {
    return this.request<ObjectList>('GET', `${pathOf(r, namespace)}${query ? `?${query}` : ''}`);
  }
  get(r: Resource, namespace: string | undefined, name: string): Promise<KubeObject> {
    return this.request('GET', pathOf(r, namespace, name));
  }
  create(r: Resource, namespace: string | undefined, obj: KubeObject): Promise<KubeObject> {
    return this.request('POST', pathOf(r, namespace), obj);
  }
  update(r: Resource, obj: KubeObject): Promise<KubeObject> {
    return this.request('PUT', pathOf(r, obj.metadata.namespace, obj.metadata.name), obj);
  }
  updateStatus(r: Resource, obj: KubeObject): Promise<KubeObject> {
    return this.request('PUT', pathOf(r, obj.metadata.namespace, obj.metadata.name, 'status'), obj);
  }
  /** A strategic merge patch of the status: conditions merge by type instead of replacing the list. */
  patchStatus(r: Resource, namespace: string | undefined, name: string, patch: unknown): Promise<KubeObject> {
    return this.request(
      'PATCH',
      pathOf(r, namespace, name, 'status'),
      patch,
      'application/strategic-merge-patch+json',
    );
  }
  patch(r: Resource, namespace: string | undefined, name: string, patch: unknown): Promise<KubeObject> {
    return this.request('PATCH', pathOf(r, namespace, name), patch, 'application/merge-patch+json');
  }
  /**
   * Deletes an object; `propagationPolicy` says what happens to its dependents (Background by
   * default upstream), and `uid` makes it a precondition, so a newer object of the same name
   * is never deleted by mistake.
   */
  delete(
    r: Resource,
    namespace: string | undefined,
    name: string,
    opts: {
      propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
      uid?: string;
      /** 0 deletes a pod at once (its node's agent confirming that it stopped). */
      gracePeriodSeconds?: number;
    } = {},
  ): Promise<KubeObject> {
    const body =
      opts.propagationPolicy || opts.uid || opts.gracePeriodSeconds !== undefined
        ? {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            ...(opts.propagationPolicy ? { propagationPolicy: opts.propagationPolicy } : {}),
            ...(opts.uid ? { preconditions: { uid: opts.uid } } : {}),
            ...(opts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}),
          }
        : undefined;
    return this.request('DELETE', pathOf(r, namespace, name), body);
  }
  bind(namespace: string, pod: string, node: string): Promise<KubeObject> {
    return this.request('POST', pathOf(Resources.pods, namespace, pod, 'binding'), {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: pod, namespace },
      target: { apiVersion: 'v1', kind: 'Node', name: node },
    });
  }

  /**
   * Watches a collection from a resourceVersion: newline-delimited events over one long
   * response. Returns a stopper; `onEnd` is called once when the stream ends for any reason.
   */
  watch(
    r: Resource,
    resourceVersion: string,
    onEvent: (e: WatchEvent) => void,
    onEnd: (err?: Error) => void,
    query = '',
  ): () => void {
    let ended = false;
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      onEnd(err);
    };
    let stopStream = () => {};
    /** Hands one event on; false once the stream is over (an ERROR event ends it). */
    const handle = (ev: WatchEvent): boolean => {
      if (ended) return false;
      if (ev.type === 'ERROR') {
        const code = (ev.object as { code?: number }).code ?? 500;
        end(
          new BerthError(
            codeFor(code),
            `watch ${r.plural}: ${(ev.object as { message?: string }).message ?? code}`,
          ),
        );
        stopStream();
        return false;
      }
      try {
        onEvent(ev);
      } catch (e) {
        // A consumer's bug must not end the stream (and every later event with it).
        log.error('watch event handler failed', {
          resource: r.plural,
          type: ev.type,
          object: `${ev.object?.metadata?.namespace ?? ''}/${ev.object?.metadata?.name ?? ''}`,
          err: e as Error,
        });
      }
      return true;
    };
    const path = `${pathOf(r)}?watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}${query ? `&${query}` : ''}`;
    if (this.transport) {
      const stop = this.transport.watch(
        { method: 'GET', path, headers: this.headers() },
        {
          event: (ev) => void handle(ev),
          end: (status, body) => {
            this.localWatches.delete(stopStream);
            end(
              status === undefined || status === 200
                ? undefined
                : watchRefused(r.plural, status, (body as { message?: string } | undefined)?.message),
            );
          },
        },
      );
      stopStream = () => {
        this.localWatches.delete(stopStream);
        stop();
      };
      this.localWatches.add(stopStream);
      return () => {
        ended = true;
        stopStream();
      };
    }
    const req = this.send(
      path,
      {
        method: 'GET',
        agent: this.agent,
        headers: this.headers(),
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          end(watchRefused(r.plural, res.statusCode ?? 0));
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl = buf.indexOf('\n');
          while (nl >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) {
              let ev: WatchEvent;
              try {
                ev = JSON.parse(line) as WatchEvent;
              } catch (e) {
                // Cannot happen on one stream (lines are never torn); say so rather than guess.
                log.warn('watch: skipped a line that is not JSON', { resource: r.plural, err: e as Error });
                nl = buf.indexOf('\n');
                continue;
              }
              if (!handle(ev)) return;
            }
            nl = buf.indexOf('\n');
          }
        });
        res.on('end', () => end());
        res.on('error', (e) => end(e));
      },
    );
    stopStream = () => req.destroy();
    req.on('error', (e) => end(e));
    req.end();
    return () => {
      ended = true;
      req.destroy();
    };
  }
}
