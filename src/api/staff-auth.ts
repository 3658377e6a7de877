import type { RequestHandler, Response } from 'express';
import type { Models } from '../db/connect.js';
import { can, rolesWith, type StaffPermission } from '../staff/roles.js';
import { authenticateStaff, type StaffIdentity } from '../staff/store.js';
import { ApiError, type ApiErrorCode } from './errors.js';

const BEARER = /^Bearer +(\S+) *$/i;
const GUIDE = 'Staff tokens are issued with `npm run staff -- add <name> --role <role>`.';

function unauthenticated(res: Response, code: ApiErrorCode, message: string, challenge: string): ApiError {
  res.setHeader('WWW-Authenticate', challenge);
  return new ApiError(401, 'authentication_error', code, message);
}

/**
 * Authenticates a staff request by its `Authorization: Bearer <staff token>` header (see
 * src/staff/store.ts). No bearer token answers 401 `staff_token_missing`; a malformed, unknown or
 * revoked one 401 `staff_token_invalid`, all three by the same path. Sets `res.locals.staff`
 * (read it with {@link staffOf}).
 */
export function staffAuth({ models }: { models: Models }): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (token === undefined) {
      throw unauthenticated(
        res,
        'staff_token_missing',
        `Send your staff token as \`Authorization: Bearer <token>\`. ${GUIDE}`,
        'Bearer realm="staff"',
      );
    }
    const staff = await authenticateStaff(models, token);
    if (!staff) {
      throw unauthenticated(
        res,
        'staff_token_invalid',
        `The staff token is not valid or was revoked; ask an admin for a new one. ${GUIDE}`,
        'Bearer realm="staff", error="invalid_token"',
      );
    }
    res.locals.staff = staff;
    next();
  };
}

/** The staff member `staffAuth` authenticated for this request. */
export function staffOf(res: Response): StaffIdentity {
  const staff = res.locals.staff as StaffIdentity | undefined;
  if (!staff) throw new Error('staffOf: the route is not behind staffAuth');
  return staff;
}

/** Lets the request on only when the staff member's role holds `permission`: 403 otherwise. */
export function requireStaffPermission(permission: StaffPermission): RequestHandler {
  return (_req, res, next) => {
    const { role } = staffOf(res);
    if (!can(role, permission)) {
      throw new ApiError(
        403,
        'permission_error',
        'staff_forbidden',
        `The ${role} role lacks the ${permission} permission; it takes the ${rolesWith(permission).join(' or ')} role.`,
      );
    }
    next();
  };
}
