/**
 * One error type for all of Berth, with a closed set of codes (after containerd's errdefs).
 *
 * Front ends map a code to their own shape in one place each: the CLI to an exit code and a
 * message, the Docker API to an HTTP status and `{"message"}`, the Kubernetes API to a
 * `Status` object. Code deeper down only ever throws a `BerthError` with the right code, or
 * lets a foreign error through to be reported as Internal.
 */
export type ErrorCode =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'InvalidArgument'
  | 'FailedPrecondition'
  | 'Unavailable'
  | 'Unauthenticated'
  | 'PermissionDenied'
  | 'DeadlineExceeded'
  | 'Gone'
  | 'NotImplemented'
  | 'Canceled'
  | 'Internal';

export const errorCodes: readonly ErrorCode[] = [
  'NotFound',
  'AlreadyExists',
  'Conflict',
  'InvalidArgument',
  'FailedPrecondition',
  'Unavailable',
  'Unauthenticated',
  'PermissionDenied',
  'DeadlineExceeded',
  'Gone',
  'NotImplemented',
  'Canceled',
  'Internal',
];

/** An error with a code that callers can branch on without parsing messages. */
export class BerthError extends Error {
  readonly code: ErrorCode;
  /** Extra structured detail a front end may show (for example Kubernetes field causes). */
  readonly details?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BerthError';
    this.code = code;
    if (options?.details) this.details = options.details;
  }
}

/**
 * The code of an error, following `cause` links, so that a wrapped NotFound is still a
 * NotFound. Anything without a code is Internal.
 */
export function errorCode(err: unknown): ErrorCode {
  let e: unknown = err;
  for (let depth = 0; e && depth < 16; depth++) {
    if (e instanceof BerthError) return e.code;
    e = (e as { cause?: unknown }).cause;
  }
  return 'Internal';
}

const is = (code: ErrorCode) => (err: unknown) => errorCode(err) === code;
export const isNotFound = is('NotFound');
export const isAlreadyExists = is('AlreadyExists');
export const isConflict = is('Conflict');
export const isInvalidArgument = is('InvalidArgument');
export const isFailedPrecondition = is('FailedPrecondition');
export const isUnavailable = is('Unavailable');

/** What `p` resolves with, or undefined when it fails with NotFound (a read of what may not exist). */
export function unlessNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  return p.catch((e: unknown) => {
    if (isNotFound(e)) return undefined;
    throw e;
  });
}
export const isUnauthenticated = is('Unauthenticated');
export const isPermissionDenied = is('PermissionDenied');
export const isDeadlineExceeded = is('DeadlineExceeded');
export const isGone = is('Gone');
export const isNotImplemented = is('NotImplemented');
export const isCanceled = is('Canceled');
export const isInternal = is('Internal');

/** Short constructors, so call sites read `throw notFound(...)`. */
export const notFound = (message: string, cause?: unknown) => new BerthError('NotFound', message, { cause });
export const alreadyExists = (message: string, cause?: unknown) =>
  new BerthError('AlreadyExists', message, { cause });
export const conflict = (message: string, cause?: unknown) => new BerthError('Conflict', message, { cause });
export const invalidArgument = (message: string, cause?: unknown) =>
  new BerthError('InvalidArgument', message, { cause });
export const failedPrecondition = (message: string, cause?: unknown) =>
  new BerthError('FailedPrecondition', message, { cause });
export const unavailable = (message: string, cause?: unknown) =>
  new BerthError('Unavailable', message, { cause });
export const internal = (message: string, cause?: unknown) => new BerthError('Internal', message, { cause });

/** The message to show a user: our own message, or the foreign error's, never a stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
