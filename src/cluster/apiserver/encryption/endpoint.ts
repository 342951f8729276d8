/**
 * The berth-only API for `berth secrets-encrypt`: `GET /berth/secrets-encryption` (status)
 * and `POST /berth/secrets-encryption/rotate`. Only members of system:masters may call it:
 * rotation rewrites every Secret and the key file.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, methodNotAllowed } from '../../api/status.js';
import type { UserInfo } from '../auth.js';
import type { SecretsEncryption } from './secrets-encryption.js';

/** Answers a request below /berth/; false when the path is not one of its own. */
export type BerthEndpoint = (
  req: IncomingMessage,
  res: ServerResponse,
  user: UserInfo,
  parts: readonly string[],
) => Promise<boolean>;

export function secretsEncryptionEndpoint(se: SecretsEncryption): BerthEndpoint {
  return async (req, res, user, parts) => {
    if (parts[0] !== 'secrets-encryption' || parts.length > 2) return false;
    if (!user.groups.includes('system:masters'))
      throw new ApiError(
        403,
        'Forbidden',
        `User "${user.name}" cannot use the secrets encryption API: it is for members of system:masters`,
      );
    let body: unknown;
    if (parts.length === 1 && req.method === 'GET') body = await se.status();
    else if (parts[1] === 'rotate' && req.method === 'POST') body = await se.rotate();
    else if (parts.length === 1 || parts[1] === 'rotate')
      throw methodNotAllowed('the server does not allow this method on the requested resource');
    else return false;
    const text = JSON.stringify(body);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
    return true;
  };
}
