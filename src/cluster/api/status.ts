/**
 * Kubernetes `Status` objects, and the one place where a BerthError's code becomes an HTTP
 * status and a Status `reason`.
 */
import { BerthError, type ErrorCode, errorCode, errorMessage } from '../../core/errors.js';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An error that already carries its Kubernetes reason and HTTP code. */
export class ApiError extends BerthError {
  readonly httpCode: number;
  readonly reason: string;
  readonly statusDetails?: StatusDetails;
  constructor(httpCode: number, reason: string, message: string, details?: StatusDetails) {
    super(codeFor(httpCode), message);
    this.httpCode = httpCode;
    this.reason = reason;
    if (details) this.statusDetails = details;
  }
}

function codeFor(http: number): ErrorCode {
  const m: Record<number, ErrorCode> = {
    400: 'InvalidArgument',
    401: 'Unauthenticated',
    403: 'PermissionDenied',
    404: 'NotFound',
    405: 'NotImplemented',
    409: 'Conflict',
    410: 'Gone',
    413: 'InvalidArgument',
    415: 'InvalidArgument',
    422: 'InvalidArgument',
    503: 'Unavailable',
  };
  return m[http] ?? 'Internal';
}

/** `group` and `kind` (plural resource name) as Kubernetes puts them in details. */
export interface Target {
  group: string;
  resource: string;
  name?: string;
}

const qualified = (t: Target) => (t.group ? `${t.resource}.${t.group}` : t.resource);
const details = (t: Target, extra: StatusDetails = {}): StatusDetails => ({
  ...(t.name !== undefined ? { name: t.name } : {}),
  ...(t.group ? { group: t.group } : {}),
  kind: t.resource,
  ...extra,
});

export const notFoundError = (t: Target) =>
  new ApiError(404, 'NotFound', `${qualified(t)} "${t.name}" not found`, details(t));
export const alreadyExistsError = (t: Target) =>
  new ApiError(409, 'AlreadyExists', `${qualified(t)} "${t.name}" already exists`, details(t));
export const conflictError = (t: Target) =>
  new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(t)} "${t.name}": the object has been modified; please apply your changes to the latest version and try again`,
    details(t),
  );
/** 422 Invalid with field causes; `kind` here is the Kind, as Kubernetes reports it. */
export function invalidError(group: string, kind: string, name: string, causes: StatusCause[]): ApiError {
  const list = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  const msg = `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${causes.length > 1 ? `[${list}]` : list}`;
  return new ApiError(422, 'Invalid', msg, {
    name,
    ...(group ? { group } : {}),
    kind,
    causes: causes.map((c) => ({
      reason: c.reason ?? 'FieldValueInvalid',
      message: c.message,
      field: c.field,
    })),
  });
}
export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);
export const methodNotAllowed = (message: string) => new ApiError(405, 'MethodNotAllowed', message);
export const expired = (message: string) => new ApiError(410, 'Expired', message);

/** Builds the Status body for any error thrown while serving a request. */
export function statusFor(err: unknown): Status {
  if (err instanceof ApiError) {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: err.message,
      reason: err.reason,
      ...(err.statusDetails ? { details: err.statusDetails } : {}),
      code: err.httpCode,
    };
  }
  const code = errorCode(err);
  const map: Partial<Record<ErrorCode, [number, string]>> = {
    NotFound: [404, 'NotFound'],
    AlreadyExists: [409, 'AlreadyExists'],
    Conflict: [409, 'Conflict'],
    InvalidArgument: [400, 'BadRequest'],
    Unauthenticated: [401, 'Unauthorized'],
    PermissionDenied: [403, 'Forbidden'],
    Gone: [410, 'Expired'],
    Unavailable: [503, 'ServiceUnavailable'],
    DeadlineExceeded: [504, 'Timeout'],
    NotImplemented: [405, 'MethodNotAllowed'],
  };
  const [http, reason] = map[code] ?? [500, 'InternalError'];
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: http === 500 ? `Internal error occurred: ${errorMessage(err)}` : errorMessage(err),
    reason,
    ...(http === 500 ? { details: { causes: [{ message: errorMessage(err) }] } } : {}),
    code: http,
  };
}

/** A Success Status, as DELETE of a collection or some subresources answer. */
export function successStatus(d?: StatusDetails): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    ...(d ? { details: d } : {}),
    code: 200,
  };
}
