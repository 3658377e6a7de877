import type { Request, RequestHandler, Response } from 'express';
import type { Models } from '../db/connect.js';
import { can, rolesWith, type StaffPermission } from '../staff/roles.js';
import { dashboardSessionIdentity } from '../staff/sessions.js';
import { authenticateStaff, type StaffIdentity } from '../staff/store.js';
import { ApiError, type ApiErrorCode } from './errors.js';

const BEARER = /^Bearer +(\S+) *$/i;
const GUIDE = 'Staff tokens are issued with `npm run staff -- add <name> --role <role>`.';

function unauthenticated(res: Response, code: ApiErrorCode, message: string, challenge: string): ApiError {
  res.setHeader('WWW-Authenticate', challenge);
  return new ApiError(401, 'authentication_error', code, message);
}

/** The cookie that holds a dashboard session id (`HttpOnly`, `SameSite=Strict`, `Path=/`). */
export const DASHBOARD_SESSION_COOKIE = 'kp_dashboard_session';

/** The value of cookie `name` on the request, if it carries one. */
export function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/**
 * Whether the request's `Origin` is this API's own: the host it was sent to (as `Host`, or a trusted
 * proxy's forwarded host, says) or `PUBLIC_BASE_URL`'s origin. A request with no `Origin` is not:
 * browsers send one on every `POST`, `PUT`, `PATCH` and `DELETE`, so only a non-browser omits it.
 */
export function isSameOrigin(req: Request, publicBaseUrl?: string): boolean {
  const origin = req.get('origin');
  if (origin === undefined) return false;
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    if (publicBaseUrl !== undefined && new URL(publicBaseUrl).origin === url.origin) return true;
    return url.host === req.get('host')?.toLowerCase();
  } catch {
    return false;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The dashboard session a request may act with: its cookie, on a safe method or from this API's own
 * origin (so another site's page cannot make a signed-in browser act, whatever `SameSite` does).
 */
function dashboardSessionOf(req: Request, publicBaseUrl: string | undefined): string | undefined {
  const session = cookieOf(req, DASHBOARD_SESSION_COOKIE);
  if (session === undefined) return undefined;
  return SAFE_METHODS.has(req.method) || isSameOrigin(req, publicBaseUrl) ? session : undefined;
}

/**
 * Authenticates a staff request by its `Authorization: Bearer <staff token>` header (see
 * src/staff/store.ts) or, from the dashboard's pages, by its session cookie (src/staff/sessions.ts;
 * on an unsafe method only from this API's own origin, else it counts as no credential). No
 * credential answers 401 `staff_token_missing`; a malformed, unknown or revoked token, or an
 * expired or ended session, 401 `staff_token_invalid`. Sets `res.locals.staff` (read it with
 * {@link staffOf}).
 */
export function staffAuth({ models, publicBaseUrl }: { models: Models; publicBaseUrl?: string }): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
    const session = token === undefined ? dashboardSessionOf(req, publicBaseUrl) : undefined;
    if (token === undefined && session === undefined) {
      throw unauthenticated(
        res,
        'staff_token_missing',
        `Send your staff token as \`Authorization: Bearer <token>\`. ${GUIDE}`,
        'Bearer realm="staff"',
      );
    }
    const staff =
      token === undefined
        ? await dashboardSessionIdentity(models, session ?? '')
        : await authenticateStaff(models, token);
    if (!staff) {
      throw unauthenticated(
        res,
        'staff_token_invalid',
        token === undefined
          ? 'The dashboard session has expired or ended, or its staff token was revoked; sign in again at /dashboard.'
          : `The staff token is not valid or was revoked; ask an admin for a new one. ${GUIDE}`,
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
