import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { CHECKOUT_ASSET_NAMES, type CheckoutAsset, type CheckoutAssetName } from '../../checkout/assets.js';
import { checkoutLinkState, type CheckoutLinkState } from '../../checkout/link.js';
import { checkoutMissingPage, checkoutPage, type CheckoutLanguage, type CheckoutState } from '../../checkout/page.js';
import { isDashboardLanguage, languageFromAcceptLanguage } from '../../dashboard/page.js';
import type { Models } from '../../db/connect.js';
import type { Logger } from '../../logger.js';
import { PAYMENT_CHANNELS, type PaymentStatus } from '../../../domain/payment.js';
import type { PaymentService } from '../../payments/service.js';
import { PAYMENT_ID_PATTERN } from '../../payments/identity.js';
import { jsonBody } from '../body.js';
import { ApiError, methodNotAllowed } from '../errors.js';
import { rateLimit } from '../rate-limit.js';
import { parseOrThrow } from '../validation.js';

export interface CheckoutRouteDeps {
  payments: Pick<PaymentService, 'checkoutOf' | 'checkoutQrCode' | 'chooseMethod'>;
  models: Models;
  /** From `checkoutLinkKey(paymentIdKey)` (src/checkout/link.ts): what the links are signed with. */
  linkKey: Buffer;
  assets: Record<CheckoutAssetName, CheckoutAsset>;
  bodyLimitBytes: number;
  logger: Logger;
  /** How long one event stream lasts before the page opens another (default 5 minutes). */
  streamMs?: number;
}

/**
 * What the checkout's pages may load and do: their own script, style sheet, QR images and
 * endpoints; nothing inline, no other site, no frame around them.
 */
export const CHECKOUT_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** What `POST /checkout/:paymentId/method` takes: the method the learner chose. */
export const checkoutMethodSchema = z.strictObject({
  channel: z.enum(PAYMENT_CHANNELS).describe('The method to pay with: one the checkout offers.'),
});

const qrQuerySchema = z.object({ channel: z.enum(PAYMENT_CHANNELS) });

/** Choices of method one client address may make a minute (each closes and opens a channel order). */
export const METHOD_CHOICES_PER_MINUTE = 30;

/** The statuses after which a payment's checkout shows only its result: the event stream ends. */
const SETTLED: ReadonlySet<PaymentStatus> = new Set([
  'succeeded',
  'partially_refunded',
  'refunded',
  'failed',
  'expired',
  'canceled',
]);

const STREAM_TICK_MS = 1_000;
const KEEP_ALIVE_MS = 15_000;

/**
 * Every answer of the checkout: its own CSP, no referrer (the link's token is in the URL), never
 * cached (it shows the state of a payment).
 */
const checkoutHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', CHECKOUT_CSP);
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'no-store');
  next();
};

const linkInvalid = () =>
  new ApiError(
    404,
    'not_found_error',
    'checkout_link_invalid',
    'This checkout link is not valid: open the whole link the shop gave.',
  );

const linkExpired = () =>
  new ApiError(
    410,
    'not_found_error',
    'checkout_link_expired',
    'This checkout link has expired: it shows the result for 7 days after the payment window.',
  );

/** What the link of the request allows now; `invalid` for an id that cannot be a payment's, unread. */
function linkStateOf(req: Request<{ paymentId: string }>, linkKey: Buffer): CheckoutLinkState {
  const { paymentId } = req.params;
  if (!PAYMENT_ID_PATTERN.test(paymentId)) return 'invalid';
  return checkoutLinkState(linkKey, paymentId, req.query.e, req.query.t, new Date());
}

/** The link's query as the page's requests repeat it. */
function linkQueryOf(req: Request): string {
  const { e, t } = req.query;
  return new URLSearchParams({ e: typeof e === 'string' ? e : '', t: typeof t === 'string' ? t : '' }).toString();
}

function languageOf(req: Request): CheckoutLanguage {
  const asked = req.query.lang;
  return isDashboardLanguage(asked) ? asked : languageFromAcceptLanguage(req.get('accept-language'));
}

/**
 * The hosted checkout, mounted at `/checkout`, for the learner in a browser. Every path but the
 * assets carries the signed link's `e` and `t` (src/checkout/link.ts): a payment id that cannot
 * be one, or a link that is not valid, is answered without any lookup, as not found.
 *
 * - `GET /:paymentId`: the page (HTML), in English or Chinese (`?lang=`, else Accept-Language);
 *   a page saying the link is not valid (404) or has expired (410) otherwise.
 * - `GET /:paymentId/state`: what the page shows, as JSON (`CheckoutState`).
 * - `GET /:paymentId/events`: the same, as server-sent events (`event: state`) each time it
 *   changes, until the payment is settled or a few minutes have passed.
 * - `GET /:paymentId/qr.svg?channel=`: the QR code of the open WeChat Pay or Alipay order.
 * - `POST /:paymentId/method` `{ channel }`: the learner chooses another method; the payment's
 *   workflow closes the open channel order and opens one there. Only until `e`.
 * - `GET /assets/:file`: the page's script and style sheet.
 */
export function checkoutRoutes({
  payments,
  models,
  linkKey,
  assets,
  bodyLimitBytes,
  logger,
  streamMs = 5 * 60_000,
}: CheckoutRouteDeps): Router {
  const router = Router();
  router.use(checkoutHeaders);

  /** The payment the link names and what the link allows; the API's 404 or 410 otherwise. */
  const linkedPayment = (req: Request<{ paymentId: string }>) => {
    const state = linkStateOf(req, linkKey);
    if (state === 'invalid') throw linkInvalid();
    if (state === 'gone') throw linkExpired();
    return { paymentId: req.params.paymentId, phase: state };
  };

  /** What the page shows now; undefined when the read model has no such payment. */
  const stateOf = async (paymentId: string, phase: CheckoutState['phase']): Promise<CheckoutState | undefined> => {
    const view = await payments.checkoutOf(paymentId);
    return (
      view && {
        ...view,
        ...(phase === 'payable' ? {} : { methods: [], pay: null }),
        phase,
        now: new Date().toISOString(),
      }
    );
  };

  router
    .route('/assets/:file')
    .get((req, res) => {
      const name = CHECKOUT_ASSET_NAMES.find((n) => n === req.params.file);
      if (name === undefined) {
        throw new ApiError(404, 'not_found_error', 'route_not_found', `No checkout asset ${req.params.file}.`);
      }
      const asset = assets[name];
      // Revalidated on every load (by its ETag), so a new release's script is never mixed with an old page.
      res.setHeader('Cache-Control', 'no-cache');
      res.type(asset.contentType).send(asset.body);
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/:paymentId')
    .get(async (req: Request<{ paymentId: string }>, res: Response) => {
      const lang = languageOf(req);
      const assetsPath = `${req.baseUrl}/assets`;
      const link = linkStateOf(req, linkKey);
      const state = link === 'payable' || link === 'result' ? await stateOf(req.params.paymentId, link) : undefined;
      if (!state) {
        const why = link === 'gone' ? 'gone' : 'invalid';
        // A browser gets a page a learner can read; any other client the API's one error shape.
        if (req.accepts(['json', 'html']) !== 'html') throw why === 'gone' ? linkExpired() : linkInvalid();
        res
          .status(why === 'gone' ? 410 : 404)
          .type('html')
          .send(checkoutMissingPage({ lang, assets: assetsPath, why }));
        return;
      }
      const base = `${req.baseUrl}/${encodeURIComponent(req.params.paymentId)}`;
      const query = linkQueryOf(req);
      res.type('html').send(checkoutPage({ lang, self: `${base}?${query}`, assets: assetsPath, query, base, state }));
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/:paymentId/state')
    .get(async (req: Request<{ paymentId: string }>, res: Response) => {
      const { paymentId, phase } = linkedPayment(req);
      const state = await stateOf(paymentId, phase);
      if (!state) throw linkInvalid();
      res.json(state);
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/:paymentId/events')
    .get(async (req: Request<{ paymentId: string }>, res: Response) => {
      const { paymentId, phase } = linkedPayment(req);
      const first = await stateOf(paymentId, phase);
      if (!first) throw linkInvalid();
      res.status(200);
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.setHeader('X-Accel-Buffering', 'no');
      res.flushHeaders();
      let open = true;
      let wake: () => void = () => undefined;
      res.on('close', () => {
        open = false;
        wake();
      });
      res.write('retry: 2000\n\n');
      const endsAt = Date.now() + streamMs;
      let shown = '';
      let lastWrite = Date.now();
      let state: CheckoutState | undefined = first;
      while (open && state) {
        const seen = JSON.stringify({ ...state, now: undefined });
        if (seen !== shown) {
          res.write(`event: state\ndata: ${JSON.stringify(state)}\n\n`);
          shown = seen;
          lastWrite = Date.now();
        } else if (Date.now() - lastWrite >= KEEP_ALIVE_MS) {
          res.write(': still here\n\n');
          lastWrite = Date.now();
        }
        if (SETTLED.has(state.status) || Date.now() >= endsAt) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, STREAM_TICK_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (!open) break;
        const link = linkStateOf(req, linkKey);
        if (link !== 'payable' && link !== 'result') break;
        try {
          state = await stateOf(paymentId, link);
        } catch (err) {
          // The page opens the stream again (or polls): a storage hiccup ends only this stream.
          logger.warn({ err, paymentId }, 'checkout event stream ended: the payment could not be read');
          break;
        }
      }
      res.end();
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/:paymentId/qr.svg')
    .get(async (req: Request<{ paymentId: string }>, res: Response) => {
      const { paymentId, phase } = linkedPayment(req);
      const { channel } = parseOrThrow(qrQuerySchema, { channel: req.query.channel });
      const svg = phase === 'payable' ? await payments.checkoutQrCode(paymentId, channel) : undefined;
      if (svg === undefined) {
        throw new ApiError(
          409,
          'conflict_error',
          'method_unavailable',
          `No QR code for ${channel}: its order is not the one open for payment.`,
          'channel',
        );
      }
      res.type('image/svg+xml').send(svg);
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/:paymentId/method')
    .post(
      rateLimit({
        models,
        scope: 'checkout-method',
        limitPerMinute: METHOD_CHOICES_PER_MINUTE,
        callerOf: (req) => req.ip ?? req.socket.remoteAddress ?? 'unknown',
      }),
      ...jsonBody(bodyLimitBytes),
      async (req: Request<{ paymentId: string }>, res: Response) => {
        const { paymentId, phase } = linkedPayment(req);
        const { channel } = parseOrThrow(checkoutMethodSchema, req.body ?? {});
        if (phase !== 'payable') {
          throw new ApiError(
            409,
            'conflict_error',
            'method_unavailable',
            'The time to pay has ended: no method can be chosen now.',
            'channel',
          );
        }
        const view = await payments.chooseMethod(paymentId, channel);
        res.json({ ...view, phase, now: new Date().toISOString() } satisfies CheckoutState);
      },
    )
    .all(methodNotAllowed(['POST']));

  return router;
}
