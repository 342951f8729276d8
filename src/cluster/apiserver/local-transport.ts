/**
 * The API server reached from its own process without HTTP: the node agent embedded in
 * `berth server` sends each request to the same handler as the HTTPS port and the local
 * socket (authentication by its token, authorization, admission, validation, audit), but the
 * request and its answer are objects in memory instead of bytes on a socket, and a watch's
 * events are handed over as objects instead of JSON lines. Every object that crosses is a
 * copy (jsonCopy), so neither side can change what the other holds.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { jsonCopy } from '../api/json-copy.js';
import { statusFor } from '../api/status.js';
import type { KubeTransport, LocalRequestInit, WatchEvent } from '../client/kube-client.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** The request side: what the handler reads of an IncomingMessage, with the body as an object. */
export class LocalRequest extends EventEmitter {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  /** No TLS, no peer address: the caller is this process (like the local socket). */
  readonly socket = { remoteAddress: undefined };
  readonly body: unknown;
  readonly hasBody: boolean;

  constructor(init: LocalRequestInit) {
    super();
    this.method = init.method;
    this.url = init.path;
    // Node lower-cases header names on an IncomingMessage; the handler reads them so.
    this.headers = {};
    for (const [k, v] of Object.entries(init.headers)) this.headers[k.toLowerCase()] = v;
    this.hasBody = init.body !== undefined;
    this.body = init.body;
  }

  /** The body as text, for a reader that wants bytes (none of the resource verbs does). */
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    if (this.hasBody) yield Buffer.from(JSON.stringify(this.body));
  }
}

/** The body of an in-process request, already an object: undefined for a request from a socket. */
export function localBody(req: IncomingMessage): { value: unknown } | undefined {
  const r = req as unknown as LocalRequest;
  return r instanceof LocalRequest ? { value: r.hasBody ? r.body : undefined } : undefined;
}

interface Sink {
  /** The answer is complete (for a watch: it was refused, or it ended). */
  done(res: LocalResponse): void;
  /** A watch event (a watch's answer only). */
  event?(e: WatchEvent): void;
}

/**
 * The answer side: what the handler, the audit and the watch stream call on a
 * ServerResponse. `send` (http-io.ts) hands it the answer's object; anything written as text
 * is kept and parsed as JSON when the answer ends.
 */
export class LocalResponse extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  private readonly headerMap = new Map<string, OutgoingHttpHeader>();
  private chunks: string[] = [];
  private object: unknown;
  private hasObject = false;
  private queued: WatchEvent[] = [];
  private delivering = false;

  constructor(
    readonly req: LocalRequest,
    private readonly sink: Sink,
  ) {
    super();
  }

  setHeader(name: string, value: OutgoingHttpHeader): this {
    this.headerMap.set(name.toLowerCase(), value);
    return this;
  }
  getHeader(name: string): OutgoingHttpHeader | undefined {
    return this.headerMap.get(name.toLowerCase());
  }
  hasHeader(name: string): boolean {
    return this.headerMap.has(name.toLowerCase());
  }
  removeHeader(name: string): void {
    this.headerMap.delete(name.toLowerCase());
  }
  writeHead(code: number, headers?: OutgoingHttpHeaders): this {
    this.statusCode = code;
    for (const [k, v] of Object.entries(headers ?? {})) if (v !== undefined) this.setHeader(k, v);
    this.headersSent = true;
    return this;
  }
  flushHeaders(): void {
    this.headersSent = true;
  }
  write(chunk: string | Buffer): boolean {
    this.chunks.push(chunk.toString());
    return true;
  }

  /** The whole answer as an object: a copy, since the handler may still hold it. */
  sendObject(code: number, body: unknown): void {
    this.statusCode = code;
    this.headersSent = true;
    this.object = jsonCopy(body);
    this.hasObject = true;
    this.end();
  }

  /** The object the answer carried (for the audit log's response object). */
  sentObject(): { value: unknown } | undefined {
    return this.hasObject ? { value: this.object } : undefined;
  }

  /**
   * One watch event, delivered with the others of this turn of the event loop on the next
   * (as the HTTP stream writes them), in order, each a copy of its own.
   */
  watchEvent(type: string, object: unknown): void {
    if (this.writableEnded) return;
    this.queued.push({ type, object: jsonCopy(object) } as WatchEvent);
    if (!this.delivering) {
      this.delivering = true;
      setImmediate(() => this.deliver());
    }
  }

  private deliver(): void {
    this.delivering = false;
    const events = this.queued;
    this.queued = [];
    for (const e of events) this.sink.event?.(e);
  }

  end(chunk?: string | Buffer): this {
    if (this.writableEnded) return this;
    if (chunk !== undefined) this.write(chunk);
    this.writableEnded = true;
    this.headersSent = true;
    this.deliver();
    this.sink.done(this);
    this.emit('finish');
    this.emit('close');
    return this;
  }

  /** What the answer says: the object it was given, or its text as JSON (or as text). */
  body(): unknown {
    if (this.hasObject) return this.object;
    const text = this.chunks.join('');
    this.chunks = [];
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  /** The client stopped listening (a watch stopped): the handler sees the connection close. */
  abort(): void {
    this.queued = [];
    this.writableEnded = true;
    this.req.emit('close');
    this.emit('close');
  }
}

/** A transport into `handler`, the API server's request handler (audit included). */
export function localTransport(handler: Handler): KubeTransport {
  const run = (req: LocalRequest, res: LocalResponse) =>
    handler(req as unknown as IncomingMessage, res as unknown as ServerResponse).catch((e: unknown) => {
      // The handler answers its own errors; one that escapes it still answers the caller,
      // with the Status the handler would have given it.
      if (!res.writableEnded) {
        const status = statusFor(e);
        res.sendObject(status.code, status);
      }
    });
  return {
    request(init) {
      return new Promise((resolve) => {
        const req = new LocalRequest(init);
        const res = new LocalResponse(req, {
          done: (r) => resolve({ status: r.statusCode, body: r.body() }),
        });
        void run(req, res);
      });
    },
    watch(init, on) {
      let stopped = false;
      const req = new LocalRequest(init);
      const res = new LocalResponse(req, {
        event: (e) => {
          if (!stopped) on.event(e);
        },
        done: (r) => {
          if (stopped) return;
          stopped = true;
          if (r.statusCode === 200) on.end();
          else on.end(r.statusCode, r.body());
        },
      });
      void run(req, res);
      return () => {
        if (stopped) return;
        stopped = true;
        res.abort();
      };
    },
  };
}
