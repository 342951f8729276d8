/**
 * The causes of a 422 Invalid answer, in the words of Kubernetes' field errors
 * (apimachinery's `field.Invalid`, `field.Required`, ...): clients and users match on the
 * reason and on the message's opening, so every validator builds them here.
 */
import type { StatusCause } from './status.js';

/** `Invalid value: VALUE: MESSAGE`. */
export const invalid = (field: string, value: unknown, message: string): StatusCause => ({
  field,
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${JSON.stringify(value)}: ${message}`,
});

/** `Required value`, with a detail after a colon when there is one. */
export const required = (field: string, detail = ''): StatusCause => ({
  field,
  reason: 'FieldValueRequired',
  message: detail ? `Required value: ${detail}` : 'Required value',
});

/** `Forbidden: DETAIL`. */
export const forbidden = (field: string, detail: string): StatusCause => ({
  field,
  reason: 'FieldValueForbidden',
  message: `Forbidden: ${detail}`,
});

/** `Unsupported value: VALUE: supported values: "a", "b"`. */
export const notSupported = (field: string, value: unknown, supported: readonly string[]): StatusCause => ({
  field,
  reason: 'FieldValueNotSupported',
  message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
});
