/**
 * Engine error codes as Docker API responses, in one place: an HTTP status and Docker's
 * `{"message": "..."}` body, which the docker CLI prints as "Error response from daemon: ...".
 */
import type { ServerResponse } from 'node:http';
import { type ErrorCode, errorCode, errorMessage } from '../../core/errors.js';
import { logger } from '../../core/log.js';

const log = logger('dockerapi');

const STATUS: Record<ErrorCode, number> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  InvalidArgument: 400,
  FailedPrecondition: 409,
  Unavailable: 503,
  Unauthenticated: 401,
  PermissionDenied: 403,
  DeadlineExceeded: 504,
  Gone: 404,
  NotImplemented: 501,
  Canceled: 499,
  Internal: 500,
};

/** The HTTP status Docker uses for an error with this code. */
export function httpStatus(err: unknown): number {
  return STATUS[errorCode(err)];
}

/** Writes `err` as Docker's JSON error body (or just closes a response already under way). */
export function sendError(res: ServerResponse, err: unknown): void {
  const status = httpStatus(err);
  if (status >= 500) log.warn('request failed', { err: err as Error });
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({ message: errorMessage(err) });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
