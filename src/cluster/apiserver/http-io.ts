/**
 * The API server's request bodies and JSON answers: a body read up to the size limit, decoded
 * by its Content-Type (JSON, YAML or protobuf), and an object sent as JSON with its length.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonDepth, maxJsonDepth } from '../api/json-depth.js';
import { toJson } from '../api/json-stringify.js';
import { maxRequestBytes } from '../api/limits.js';
import { decodeProtobuf } from '../api/protobuf.js';
import { ApiError, badRequest } from '../api/status.js';
import { LocalResponse } from './local-transport.js';
import type { Parsed, YamlDecoder } from './yaml-decode.js';

/** Answers `body` as JSON with status `code` (to a caller in this process, as the object). */
export function send(res: ServerResponse, code: number, body: unknown): void {
  if (res instanceof LocalResponse) {
    res.sendObject(code, body);
    return;
  }
  const text = toJson(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** The request's body; one over the API's limit is refused with 413. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > maxRequestBytes)
      throw new ApiError(
        413,
        'RequestEntityTooLarge',
        `Request entity too large: the body is over the limit of ${maxRequestBytes} bytes`,
      );
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export type BodyFormat = 'json' | 'yaml' | 'protobuf';

/** A request body's format from its Content-Type; none is JSON, as upstream takes it. */
export function bodyFormat(contentType: string): BodyFormat {
  const media = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (media === '' || media === 'application/json') return 'json';
  if (media === 'application/yaml') return 'yaml';
  if (media === 'application/vnd.kubernetes.protobuf') return 'protobuf';
  throw new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format ("${media}") - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
  );
}

/** The body's value; a YAML body's repeated keys are described in `duplicates`. */
export async function parseBody(buf: Buffer, format: BodyFormat, yaml: YamlDecoder): Promise<Parsed> {
  if (format === 'protobuf') return { value: decodeProtobuf(buf), duplicates: [] };
  const text = buf.toString('utf8');
  if (format === 'yaml') {
    try {
      return await yaml.parse(text);
    } catch (e) {
      throw badRequest(`error converting YAML to JSON: yaml: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  // Nesting deeper than the limit takes more opening brackets than that: a shorter text is not scanned.
  if (text.length > maxJsonDepth && jsonDepth(text) > maxJsonDepth)
    throw badRequest(`couldn't get version/kind; json parse error: exceeded max depth of ${maxJsonDepth}`);
  try {
    return { value: JSON.parse(text), duplicates: [] };
  } catch (e) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message.split('\n')[0]}`);
  }
}
