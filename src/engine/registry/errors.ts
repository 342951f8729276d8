import { BerthError, type ErrorCode } from '../../core/errors.js';
import { type HttpResponse, readBody } from './http.js';

/** Turns a registry's error answer into a BerthError that names what was asked for. */
export async function registryError(res: HttpResponse, what: string): Promise<BerthError> {
  let detail = '';
  try {
    const body = JSON.parse((await readBody(res, 64 * 1024)).toString('utf8')) as {
      errors?: { code?: string; message?: string }[];
    };
    detail = (body.errors ?? []).map((e) => `${e.code ? `${e.code}: ` : ''}${e.message ?? ''}`).join('; ');
  } catch {
    /* no JSON body */
  }
  const code: ErrorCode =
    res.status === 404
      ? 'NotFound'
      : res.status === 401
        ? 'Unauthenticated'
        : res.status === 403
          ? 'PermissionDenied'
          : 'Unavailable';
  const why =
    res.status === 404
      ? 'not found'
      : res.status === 403
        ? 'access denied'
        : `the registry answered ${res.status}`;
  return new BerthError(code, `${what}: ${why}${detail ? ` (${detail})` : ''}`);
}
