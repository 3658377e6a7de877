import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { Models } from '../../db/connect.js';
import { DASHBOARD_ASSET_NAMES, type DashboardAsset, type DashboardAssetName } from '../../dashboard/assets.js';
import {
  dashboardPage,
  isDashboardLanguage,
  languageFromAcceptLanguage,
  signInPage,
  type DashboardLanguage,
} from '../../dashboard/page.js';
import { dashboardSessionIdentity, endDashboardSession, startDashboardSession } from '../../staff/sessions.js';
import { ApiError, methodNotAllowed } from '../errors.js';
import { rateLimit } from '../rate-limit.js';
import { cookieOf, DASHBOARD_SESSION_COOKIE, isSameOrigin } from '../staff-auth.js';

export interface DashboardRouteDeps {
  models: Models;
  assets: Record<DashboardAssetName, DashboardAsset>;
  /** `DASHBOARD_SESSION_MINUTES`: how long a sign-in lasts. */
  sessionMinutes: number;
  /** `PUBLIC_BASE_URL`: its origin counts as the dashboard's own, and an `https` one makes the cookie `Secure`. */
  publicBaseUrl: string | undefined;
  /** `STATS_UTC_OFFSET_MINUTES`, so the page asks for the statistics' days. */
  statsUtcOffsetMinutes: number;
}

/**
 * What the dashboard's pages may load and do: their own scripts, style sheet and API, nothing
 * inline, no other site, no frame around them, forms only to themselves.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** What `POST /session` takes, as a form or as JSON: the staff token. */
export const dashboardSignInSchema = z.object({
  token: z.string().min(1).describe('A staff token (`npm run staff -- add <name> --role <role>` prints one).'),
});

/** The language cookie: the visible switch's choice (not a secret, so readable by the page). */
const LANGUAGE_COOKIE = 'kp_lang';
const REFRESH_SECONDS = 10;
/** Sign-in attempts one client address may make a minute, across every API process. */
export const SIGN_IN_ATTEMPTS_PER_MINUTE = 30;

const pageHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
  // A form's POST must carry the page's Origin: under `no-referrer` browsers send `Origin: null`.
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/**
 * The staff dashboard, mounted at `/dashboard`: `GET /` answers the sign-in page, or with a
 * current session the dashboard (its script reads the staff API with the session cookie).
 * `POST /session` signs in with a staff token (a form, answered with a redirect to the
 * dashboard or back to the form; or JSON, answered with JSON; at most
 * {@link SIGN_IN_ATTEMPTS_PER_MINUTE} a minute per client address) and sets the
 * session cookie (`HttpOnly`, `SameSite=Strict`, `Path=/`, `Max-Age` of `sessionMinutes`, `Secure`
 * behind https); `DELETE /session` signs out (`{ signedOut }`: whether a session was ended). Both
 * are audited, and both refuse another site's `Origin`. `GET /assets/:file`: the page's script and
 * style sheet, and Chart.js.
 */
export function dashboardRoutes({
  models,
  assets,
  sessionMinutes,
  publicBaseUrl,
  statsUtcOffsetMinutes,
}: DashboardRouteDeps): Router {
  const router = Router();
  const secure = publicBaseUrl !== undefined && new URL(publicBaseUrl).protocol === 'https:';
  const cookieOptions = { httpOnly: true, sameSite: 'strict', secure, path: '/' } as const;

  const languageOf = (req: Request, res: Response): DashboardLanguage => {
    const asked = req.query.lang;
    if (isDashboardLanguage(asked)) {
      res.cookie(LANGUAGE_COOKIE, asked, { sameSite: 'lax', secure, path: '/', maxAge: 365 * 86_400_000 });
      return asked;
    }
    const remembered = cookieOf(req, LANGUAGE_COOKIE);
    return isDashboardLanguage(remembered) ? remembered : languageFromAcceptLanguage(req.get('accept-language'));
  };
  const refuseOtherSites = (req: Request) => {
    if (req.get('origin') !== undefined && !isSameOrigin(req, publicBaseUrl)) {
      throw new ApiError(403, 'permission_error', 'origin_not_allowed', 'Sign in and out from the dashboard itself.');
    }
  };

  router
    .route('/')
    .get(pageHeaders, async (req, res) => {
      const lang = languageOf(req, res);
      const base = req.baseUrl;
      const session = cookieOf(req, DASHBOARD_SESSION_COOKIE);
      const staff = session === undefined ? null : await dashboardSessionIdentity(models, session);
      if (!staff) {
        if (session !== undefined) res.clearCookie(DASHBOARD_SESSION_COOKIE, cookieOptions);
        const notice = req.query.signIn === 'invalid' ? 'invalid' : session === undefined ? undefined : 'expired';
        res.type('html').send(signInPage({ lang, base, ...(notice === undefined ? {} : { notice }) }));
        return;
      }
      res
        .type('html')
        .send(dashboardPage({ lang, base, staff, statsUtcOffsetMinutes, refreshSeconds: REFRESH_SECONDS }));
    })
    .all(methodNotAllowed(['GET']));

  router.route('/session').post(
    pageHeaders,
    rateLimit({
      models,
      scope: 'dashboard-sign-in',
      limitPerMinute: SIGN_IN_ATTEMPTS_PER_MINUTE,
      callerOf: (req) => req.ip ?? req.socket.remoteAddress ?? 'unknown',
    }),
    express.urlencoded({ extended: false, limit: 4096 }),
    express.json({ limit: 4096 }),
    async (req, res) => {
      refuseOtherSites(req);
      const asJson = Boolean(req.is('application/json'));
      if (!asJson && !req.is('application/x-www-form-urlencoded')) {
        throw new ApiError(
          415,
          'invalid_request_error',
          'unsupported_media_type',
          'Send the staff token as a form (token=...) or as JSON ({"token": "..."}).',
        );
      }
      const given = dashboardSignInSchema.safeParse(req.body ?? {});
      const token = given.success ? given.data.token.trim() : '';
      const started = token === '' ? null : await startDashboardSession(models, token, sessionMinutes);
      if (!started) {
        if (asJson) {
          throw new ApiError(
            401,
            'authentication_error',
            'staff_token_invalid',
            'That staff token is not valid or was revoked.',
            'token',
          );
        }
        // Back to the form, saying so (post, redirect, get: a reload never posts the token again).
        res.redirect(303, `${req.baseUrl}?signIn=invalid`);
        return;
      }
      res.cookie(DASHBOARD_SESSION_COOKIE, started.sessionId, {
        ...cookieOptions,
        maxAge: sessionMinutes * 60_000,
      });
      if (asJson) {
        res.json({ name: started.staff.name, role: started.staff.role, expiresAt: started.expiresAt.toISOString() });
        return;
      }
      res.redirect(303, req.baseUrl || '/');
    },
  );
  // Apart from the POST, so that each route names one method.
  router
    .route('/session')
    .delete(async (req, res) => {
      refuseOtherSites(req);
      const session = cookieOf(req, DASHBOARD_SESSION_COOKIE);
      const signedOut = session !== undefined && (await endDashboardSession(models, session));
      res.clearCookie(DASHBOARD_SESSION_COOKIE, cookieOptions);
      res.setHeader('Cache-Control', 'no-store');
      res.json({ signedOut });
    })
    .all(methodNotAllowed(['POST', 'DELETE']));

  router
    .route('/assets/:file')
    .get((req, res) => {
      const name = DASHBOARD_ASSET_NAMES.find((n) => n === req.params.file);
      if (name === undefined) {
        throw new ApiError(404, 'not_found_error', 'route_not_found', `No dashboard asset ${req.params.file}.`);
      }
      const asset = assets[name];
      // Revalidated on every load (by its ETag), so a new release's script is never mixed with an old page.
      res.setHeader('Cache-Control', 'no-cache');
      res.type(asset.contentType).send(asset.body);
    })
    .all(methodNotAllowed(['GET']));

  return router;
}
