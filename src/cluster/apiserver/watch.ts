/**
 * Watch streams: newline-delimited JSON events over a chunked response. With no
 * resourceVersion (or "0") the stream starts with ADDED events for the current objects; with
 * a resourceVersion it carries only later events, or one ERROR event with a 410 Expired
 * Status when that revision is compacted; a revision the store has not reached is waited for
 * a few seconds, then a 504; one that is not a number is a 400. Honours timeoutSeconds and
 * sends BOOKMARK events when allowWatchBookmarks is set.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { asVersion } from '../api/conversion.js';
import { toJson } from '../api/json-stringify.js';
import { decode, resourcePrefix } from '../api/objects.js';
import { apiVersionOf, type ResourceInfo } from '../api/resources.js';
import { fieldMatcher, type KubeObject, labelMatcher } from '../api/selectors.js';
import { ApiError, expired, statusFor } from '../api/status.js';
import { toTable } from '../api/table.js';
import type { KeyValue, Store, Watch, WatchEvent } from '../store/store.js';
import { LocalResponse } from './local-transport.js';
import { boolParam, intParam, parseResourceVersion } from './params.js';
import type { RestStorage } from './rest.js';

const bookmarkEveryMs = 30_000;

// One store event reaches every watch of its resource as the same KeyValue object (the SQLite
// store shares it, in one synchronous fan-out): decode it and serialise it once for all of
// them, not once per watcher. The cache lasts one turn of the event loop only: the store
// keeps that KeyValue as the object's current value, and a decoded copy plus its JSON kept
// alongside every live object cost hundreds of MB at 30,000 pods.
let decodedOf = new Map<KeyValue, KubeObject>();
let jsonOf = new Map<KeyValue, string>();
let clearing = false;
function forgetSoon(): void {
  if (clearing) return;
  clearing = true;
  setImmediate(() => {
    clearing = false;
    decodedOf = new Map();
    jsonOf = new Map();
  });
}
function decodeShared(kv: KeyValue): KubeObject {
  let o = decodedOf.get(kv);
  if (!o) {
    o = decode(kv);
    decodedOf.set(kv, o);
    forgetSoon();
  }
  return o;
}

/** How long a watch from a revision the store has not reached yet waits for it (upstream's blockTimeout). */
const futureRevisionWaitMs = 3000;

/**
 * Waits until the store reaches `rv`. A watch from a future revision would otherwise start and
 * stay silent; kube-apiserver waits a few seconds for its cache, then answers 504 Timeout with
 * a ResourceVersionTooLarge cause, and so does this.
 */
async function waitForRevision(store: Store, rv: number): Promise<void> {
  const current = await store.revision();
  if (rv <= current) return;
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    let watch: Watch | undefined;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      watch?.close();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () =>
        settle(
          new ApiError(504, 'Timeout', `Too large resource version: ${rv}, current: ${current}`, {
            causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
            retryAfterSeconds: 1,
          }),
        ),
      futureRevisionWaitMs,
    );
    watch = store.watch('/registry/', current, {
      onEvents(events) {
        if (events.some((ev) => ev.kv.modRevision >= rv)) settle();
      },
      onError: (err) => settle(err instanceof Error ? err : new Error(String(err))),
    });
    // Events delivered during store.watch itself settled before `watch` was set.
    if (settled) watch.close();
  });
}

export async function serveWatch(
  req: IncomingMessage,
  res: ServerResponse,
  store: Store,
  rest: RestStorage,
  r: ResourceInfo,
  namespace: string | undefined,
  q: URLSearchParams,
  asTable: boolean,
): Promise<void> {
  const lm = labelMatcher(q.get('labelSelector'));
  const fm = fieldMatcher(q.get('fieldSelector'), r.kind);
  const match = (o: KubeObject) => lm(o) && fm(o);
  const selective = Boolean(q.get('labelSelector') || q.get('fieldSelector'));
  const rvParam = q.get('resourceVersion') ?? '';
  const bookmarks = boolParam(q, 'allowWatchBookmarks');
  const sendInitial = boolParam(q, 'sendInitialEvents');
  const timeout = intParam(q, 'timeoutSeconds') ?? 0;
  const shape = (o: KubeObject): unknown => {
    const full = asVersion(r, o);
    return asTable ? toTable(r, [full], String(o.metadata?.resourceVersion)) : full;
  };

  let initial: KubeObject[] = [];
  let from: number;
  if (rvParam === '' || rvParam === '0' || sendInitial) {
    const list = await rest.list(r, namespace, {});
    initial = list.items.filter(match);
    from = list.revision;
  } else {
    from = parseResourceVersion(rvParam);
    await waitForRevision(store, from);
  }

  // A watcher in this process (the embedded node agent) gets each event as an object of its own.
  const local = res instanceof LocalResponse ? res : undefined;
  // A watcher in this process that stopped while the list or the revision was awaited: its
  // close went by before anything below listened for it.
  if (local?.writableEnded) return;
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Transfer-Encoding': 'chunked',
    'Cache-Control': 'no-cache',
  });
  res.flushHeaders();
  // Lines queued in one turn of the event loop go out as one chunk: under load a watcher
  // gets hundreds of events a second, and a write (a syscall) per event cost more than the
  // events' own encoding.
  let pending: string[] = [];
  let flushing = false;
  const flush = () => {
    flushing = false;
    if (!pending.length || res.writableEnded) return;
    const text = pending.join('');
    pending = [];
    res.write(text);
  };
  const line = (text: string) => {
    pending.push(text);
    if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
  };
  const write = (type: string, object: unknown) =>
    local ? local.watchEvent(type, object) : line(`${toJson({ type, object })}\n`);
  let lastRv = from;
  for (const o of initial) write('ADDED', shape(o));
  const bookmark = (extra: Record<string, string> = {}) =>
    write('BOOKMARK', {
      kind: r.kind,
      apiVersion: apiVersionOf(r),
      metadata: {
        resourceVersion: String(lastRv),
        ...(Object.keys(extra).length ? { annotations: extra } : {}),
      },
    });
  if (sendInitial && bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });

  let done = false;
  const timers: NodeJS.Timeout[] = [];
  const finish = () => {
    if (done) return;
    done = true;
    watch.close();
    for (const t of timers) clearTimeout(t);
    flush();
    res.end();
  };
  const watch = store.watch(resourcePrefix(r, namespace), from, {
    onEvents(events: WatchEvent[]) {
      if (done) return;
      const send = (type: string, kv: KeyValue, o: KubeObject) => {
        if (asTable || local) return write(type, shape(o));
        let json = jsonOf.get(kv);
        if (json === undefined) {
          json = toJson(shape(o));
          jsonOf.set(kv, json);
          forgetSoon();
        }
        line(`{"type":"${type}","object":${json}}\n`);
      };
      for (const ev of events) {
        lastRv = ev.kv.modRevision;
        const now = decodeShared(ev.kv);
        if (ev.type === 'delete') {
          if (match(now)) send('DELETED', ev.kv, now);
          continue;
        }
        // The previous value matters only when a selector could have changed its mind.
        const was = ev.prevKv ? (selective ? match(decodeShared(ev.prevKv)) : true) : false;
        const is = match(now);
        if (is && !was) send('ADDED', ev.kv, now);
        else if (is && was) send('MODIFIED', ev.kv, now);
        else if (!is && was) send('DELETED', ev.kv, now);
      }
    },
    onError(err) {
      if (done) return;
      const st = statusFor(
        (err as { code?: string }).code === 'Gone' ? expired(`too old resource version: ${from}`) : err,
      );
      write('ERROR', st);
      finish();
    },
  });
  if (timeout > 0) timers.push(setTimeout(finish, timeout * 1000));
  if (bookmarks) {
    const tick = () => {
      if (done) return;
      bookmark();
      timers.push(setTimeout(tick, bookmarkEveryMs));
    };
    timers.push(setTimeout(tick, bookmarkEveryMs));
  }
  req.on('close', finish);
  res.on('close', finish);
}
