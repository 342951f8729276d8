/**
 * A strict parser of HTTP/1.x message heads (RFC 9112), for the Ingress's own HTTP/1.1 data
 * path (http1-proxy.ts). It reads the request line or status line and the header fields, and
 * works out what a proxy needs to frame the message: its Content-Length or chunked
 * Transfer-Encoding, its Host, and the Connection, Upgrade and Expect fields. Everything else
 * is passed on as it came (the raw lines keep their names' case and their order).
 *
 * It refuses what two parsers could read differently, the shapes request smuggling is made
 * of, rather than guess: a bare CR or LF as a line end, obs-fold (a line starting with
 * whitespace), whitespace between a field name and its colon, control characters, a
 * Content-Length that is not plain digits or comes twice, a Transfer-Encoding other than
 * exactly `chunked` (or given twice, or with HTTP/1.0), both Content-Length and
 * Transfer-Encoding, and an HTTP/1.1 request with no Host or two. Empty lines before a
 * request line are skipped (RFC 9112 2.2).
 */

/** One header field: the name as sent, in lower case, and the value without surrounding whitespace. */
export interface HeaderField {
  name: string;
  lower: string;
  value: string;
}

/** What both kinds of heads carry. */
interface MessageHead {
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  minor: 0 | 1;
  fields: HeaderField[];
  /** The Content-Length, when one was sent. */
  contentLength: number | undefined;
  /** `Transfer-Encoding: chunked`. */
  chunked: boolean;
  /** The Transfer-Encoding field's value, when one was sent. */
  transferEncoding: string | undefined;
  /** The tokens of every Connection field, in lower case. */
  connection: string[];
  /** Bytes of the buffer the head took, its final empty line included (and empty lines before it). */
  size: number;
}

export interface RequestHead extends MessageHead {
  method: string;
  target: string;
  host: string | undefined;
  upgrade: string | undefined;
  expect: string | undefined;
}

export interface ResponseHead extends MessageHead {
  status: number;
  reason: string;
}

/** A head that cannot be served: the status to answer with and why, for the log. */
export interface HeadError {
  status: number;
  reason: string;
}

/** A whole head, a refusal, or undefined while more bytes are needed. */
export type HeadResult<T> = { head: T } | { error: HeadError } | undefined;

const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const requestLine = new RegExp(`^(${TOKEN}) ([\\x21-\\x7e]+) HTTP/1\\.([01])$`);
const statusLine = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([\s\S]*))?$/;
const fieldName = new RegExp(`^${TOKEN}$`);
/** A CR not followed by LF, or an LF not preceded by CR. */
const bareLineEnd = /\r(?!\n)|(?<!\r)\n/;
const digits = /^\d{1,15}$/;

const fail = (status: number, reason: string) => ({ error: { status, reason } });

/**
 * The head at the start of `buf`, when all of it is there. Past `max` bytes without its end:
 * 431 (a request) or an error (a response).
 */
function findHead(
  buf: Buffer,
  max: number,
  skipEmptyLines: boolean,
): { text: string; start: number; size: number } | { error: HeadError } | undefined {
  let start = 0;
  // RFC 9112 2.2: a server should ignore at least one empty line before a request line.
  if (skipEmptyLines) while (buf[start] === 13 && buf[start + 1] === 10 && start < max) start += 2;
  const end = buf.indexOf('\r\n\r\n', start, 'latin1');
  if (end === -1 || end + 4 > max) {
    const seen = buf.toString('latin1', start, Math.min(buf.length, max));
    // A head ended by bare LFs would never show CRLF CRLF: refuse it now, not at the size limit.
    if (bareLineEnd.test(seen.endsWith('\r') ? seen.slice(0, -1) : seen))
      return fail(400, 'a line of the head does not end with CRLF');
    if (buf.length - start >= max) return fail(431, `the head is larger than ${max} bytes`);
    return undefined;
  }
  return { text: buf.toString('latin1', start, end), start, size: end + 4 };
}

/**
 * What a head (`buf[from..to]`, without its last CRLF) may not hold: a control character other
 * than HTAB, CR and LF, or a CR not followed by LF or an LF not preceded by CR. One pass over
 * the bytes for both; a regular expression with both alternatives and look-arounds took five
 * times as long on a response head, 3-4% of the proxy's CPU per keep-alive request.
 */
function badBytes(buf: Buffer, from: number, to: number): HeadError | undefined {
  for (let i = from; i < to; i++) {
    const c = buf[i] as number;
    if (c >= 32 && c !== 127) continue;
    if (c === 9) continue;
    if (c === 13 && i + 1 < to && buf[i + 1] === 10) {
      i++;
      continue;
    }
    return c === 13 || c === 10
      ? { status: 400, reason: 'a line of the head does not end with CRLF' }
      : { status: 400, reason: 'the head holds a control character' };
  }
  return undefined;
}

/** Whether a character code is optional whitespace (SP or HTAB). */
const isOws = (c: number) => c === 32 || c === 9;

/**
 * Checks the lines of a head after the first (which its caller has read) and reads their
 * fields into `into`. Lines are found with indexOf and each field's name and value cut by hand
 * rather than split and matched by a regular expression per line: the head is read once per
 * request, and that was a tenth of the proxy's CPU per request.
 */
function readFields(
  buf: Buffer,
  found: { text: string; start: number },
  into: MessageHead,
  onField: (f: HeaderField) => HeadError | undefined,
): HeadError | undefined {
  const text = found.text;
  const bad = badBytes(buf, found.start, found.start + text.length);
  if (bad) return bad;
  let at = text.indexOf('\r\n');
  while (at !== -1) {
    const start = at + 2;
    const next = text.indexOf('\r\n', start);
    const end = next === -1 ? text.length : next;
    at = next;
    const c0 = text.charCodeAt(start);
    if (isOws(c0)) return { status: 400, reason: 'obsolete line folding in the head' };
    const colon = text.indexOf(':', start);
    const name = colon > start && colon < end ? text.slice(start, colon) : '';
    if (!name || !fieldName.test(name))
      return {
        status: 400,
        reason: `malformed header field "${text.slice(start, Math.min(end, start + 64))}"`,
      };
    let from = colon + 1;
    let to = end;
    while (from < to && isOws(text.charCodeAt(from))) from++;
    while (to > from && isOws(text.charCodeAt(to - 1))) to--;
    const f: HeaderField = { name, lower: name.toLowerCase(), value: text.slice(from, to) };
    const err = frame(f, into) ?? onField(f);
    if (err) return err;
    into.fields.push(f);
  }
  if (into.contentLength !== undefined && into.chunked)
    return { status: 400, reason: 'both Content-Length and Transfer-Encoding' };
  if (into.chunked && into.minor === 0)
    return { status: 400, reason: 'Transfer-Encoding in an HTTP/1.0 message' };
  return undefined;
}

/** The framing fields, common to requests and responses. */
function frame(f: HeaderField, h: MessageHead): HeadError | undefined {
  switch (f.lower) {
    case 'content-length':
      if (h.contentLength !== undefined) return { status: 400, reason: 'Content-Length given twice' };
      if (!digits.test(f.value)) return { status: 400, reason: `bad Content-Length "${f.value}"` };
      h.contentLength = Number(f.value);
      return undefined;
    case 'transfer-encoding':
      if (h.transferEncoding !== undefined) return { status: 400, reason: 'Transfer-Encoding given twice' };
      h.transferEncoding = f.value;
      if (f.value.toLowerCase() !== 'chunked')
        return { status: 501, reason: `unsupported Transfer-Encoding "${f.value.slice(0, 64)}"` };
      h.chunked = true;
      return undefined;
    case 'connection':
      for (const t of f.value.split(',')) {
        const token = t.trim().toLowerCase();
        if (token) h.connection.push(token);
      }
      return undefined;
  }
  return undefined;
}

/** The request head at the start of `buf` (at most `max` bytes). */
export function parseRequestHead(buf: Buffer, max: number): HeadResult<RequestHead> {
  const found = findHead(buf, max, true);
  if (!found || 'error' in found) return found;
  const nl = found.text.indexOf('\r\n');
  const first = nl === -1 ? found.text : found.text.slice(0, nl);
  const m = requestLine.exec(first);
  if (!m) {
    if (/^\S+ \S+ HTTP\/\d\.\d$/.test(first) && !/ HTTP\/1\.[01]$/.test(first))
      return fail(505, `unsupported version in "${first.slice(0, 64)}"`);
    return fail(400, `malformed request line "${first.slice(0, 64)}"`);
  }
  // Every field in one literal, in one order (no spread): each head then has the same shape.
  const head: RequestHead = {
    minor: m[3] === '1' ? 1 : 0,
    fields: [],
    contentLength: undefined,
    chunked: false,
    transferEncoding: undefined,
    connection: [],
    size: found.size,
    method: m[1] as string,
    target: m[2] as string,
    host: undefined,
    upgrade: undefined,
    expect: undefined,
  };
  const err = readFields(buf, found, head, (f) => {
    switch (f.lower) {
      case 'host':
        if (head.host !== undefined) return { status: 400, reason: 'Host given twice' };
        head.host = f.value;
        break;
      case 'upgrade':
        head.upgrade = f.value;
        break;
      case 'expect':
        head.expect = f.value;
        break;
    }
    return undefined;
  });
  if (err) return { error: err };
  if (head.minor === 1 && head.host === undefined) return fail(400, 'an HTTP/1.1 request without Host');
  return { head };
}

const noCheck = () => undefined;

/** The response head at the start of `buf` (at most `max` bytes); a refusal is the backend's fault (502). */
export function parseResponseHead(buf: Buffer, max: number): HeadResult<ResponseHead> {
  const found = findHead(buf, max, false);
  if (!found) return undefined;
  if ('error' in found) return fail(502, `backend: ${found.error.reason}`);
  const nl = found.text.indexOf('\r\n');
  const first = nl === -1 ? found.text : found.text.slice(0, nl);
  const m = statusLine.exec(first);
  if (!m) return fail(502, `backend: malformed status line "${first.slice(0, 64)}"`);
  const head: ResponseHead = {
    minor: m[1] === '1' ? 1 : 0,
    fields: [],
    contentLength: undefined,
    chunked: false,
    transferEncoding: undefined,
    connection: [],
    size: found.size,
    status: Number(m[2]),
    reason: m[3] ?? '',
  };
  const err = readFields(buf, found, head, noCheck);
  if (err) return fail(502, `backend: ${err.reason}`);
  return { head };
}
