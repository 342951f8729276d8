/**
 * A gRPC health v1 client for grpc probes (grpc.health.v1.Health/Check over plaintext
 * HTTP/2, as the kubelet's prober calls it): the request and response are one-field protobuf
 * messages, encoded here by hand rather than with a gRPC library.
 */
import { connect } from 'node:http2';
import type { ActionResult } from './run-action.js';

/** HealthCheckResponse.ServingStatus names, by number. */
const statuses = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/** A gRPC frame holding HealthCheckRequest{service}: field 1, length-delimited. */
function requestFrame(service: string): Buffer {
  const s = Buffer.from(service);
  if (s.length > 127) throw new Error(`gRPC service name "${service}" is too long`);
  const msg = s.length ? Buffer.concat([Buffer.from([0x0a, s.length]), s]) : Buffer.alloc(0);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

/** The status field (1, varint) of a HealthCheckResponse in a gRPC frame; 0 when absent. */
export function parseHealthResponse(frame: Buffer): number {
  const msg = frame.subarray(5, 5 + (frame.length >= 5 ? frame.readUInt32BE(1) : 0));
  for (let i = 0; i < msg.length; ) {
    const tag = msg[i++]!;
    if (tag === 0x08) return msg[i] ?? 0;
    // Skip any other field: varints, or length-delimited values.
    if ((tag & 7) === 0) while ((msg[i++] ?? 0) & 0x80);
    else if ((tag & 7) === 2) i += (msg[i] ?? 0) + 1;
    else break;
  }
  return 0;
}

export function grpcHealthCheck(
  host: string,
  port: number,
  service: string,
  timeoutMs: number,
): Promise<ActionResult> {
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve) => {
    const session = connect(`http://${target}`);
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (r: ActionResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => done({ ok: false, output: `timeout: health rpc did not complete within ${timeoutMs / 1000}s` }),
      timeoutMs,
    );
    session.on('error', (e) =>
      done({ ok: false, output: `error: failed to connect service "${target}": ${e.message}` }),
    );
    const req = session.request({
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    req.on('data', (b: Buffer) => chunks.push(b));
    let grpcStatus: string | undefined;
    let grpcMessage = '';
    const readStatus = (h: Record<string, unknown>) => {
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) grpcMessage = decodeURIComponent(String(h['grpc-message']));
    };
    req.on('response', readStatus);
    req.on('trailers', readStatus);
    req.on('error', (e) => done({ ok: false, output: `error: health rpc failed: ${e.message}` }));
    req.on('end', () => {
      if (grpcStatus !== '0')
        return done({
          ok: false,
          output: `error: health rpc failed: code ${grpcStatus ?? 'missing'}: ${grpcMessage}`,
        });
      const code = parseHealthResponse(Buffer.concat(chunks));
      done(
        code === 1
          ? { ok: true, output: '' }
          : { ok: false, output: `service unhealthy (responded with "${statuses[code] ?? code}")` },
      );
    });
    req.end(requestFrame(service));
  });
}
