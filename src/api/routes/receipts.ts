import { Router, type Request, type RequestHandler } from 'express';
import type { Models } from '../../db/connect.js';
import { isDashboardLanguage, languageFromAcceptLanguage } from '../../dashboard/page.js';
import { isReceiptAssetName, type ReceiptAsset, type ReceiptAssetName } from '../../receipts/assets.js';
import { receiptPage } from '../../receipts/page.js';
import { receiptPdf } from '../../receipts/pdf.js';
import { receiptVerifyUrl, qrSvg } from '../../receipts/qr.js';
import { RECEIPT_ID_PATTERN, receiptFileName, receiptOf, type Receipt } from '../../receipts/receipt.js';
import type { ReceiptLanguage } from '../../receipts/text.js';
import { ApiError, methodNotAllowed } from '../errors.js';

export interface ReceiptRouteDeps {
  models: Models;
  assets: Record<ReceiptAssetName, ReceiptAsset>;
  /** `PLATFORM_NAME`: the merchant the receipt names. */
  merchant: string;
  /** `PUBLIC_BASE_URL`: the receipt's QR code opens the receipt there. */
  publicBaseUrl: string;
}

/**
 * What the receipt page may load and do: its own script and style sheet, the public voucher routes
 * (for the signature check), the QR code inline as SVG; nothing inline, no other site, no frame
 * around it, no form.
 */
export const RECEIPT_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/**
 * A receipt is a public document at an unguessable address: any cache may keep it a few minutes
 * (a refund's void shows within that), in each language it was asked in. No referrer leaves it,
 * so the address never reaches another site.
 */
const documentHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', RECEIPT_CSP);
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'public, max-age=300');
  res.setHeader('Vary', 'Accept-Language');
  res.setHeader('X-Robots-Tag', 'noindex');
  next();
};

function languageOf(req: Request): ReceiptLanguage {
  const asked = req.query.lang;
  return isDashboardLanguage(asked) ? asked : languageFromAcceptLanguage(req.get('accept-language'));
}

/**
 * The learner's receipt, public like the voucher it shows: `GET /:voucherId` the page (English or
 * Chinese; it checks the voucher's signature in the browser), `GET /:voucherId.pdf` the same as a
 * PDF, `GET /assets/:file` the page's script and style sheet. An id that is not a voucher id
 * answers 404 without a lookup; so does one with no voucher.
 */
export function receiptRoutes({ models, assets, merchant, publicBaseUrl }: ReceiptRouteDeps): Router {
  const router = Router();

  const receiptFor = async (voucherId: string): Promise<Receipt> => {
    const notFound = new ApiError(404, 'not_found_error', 'voucher_not_found', 'No such receipt.', 'voucherId');
    if (!RECEIPT_ID_PATTERN.test(voucherId)) throw notFound;
    const voucher = await models.vouchers.findOne({ _id: voucherId }).lean();
    if (!voucher) throw notFound;
    return receiptOf(voucher, merchant);
  };

  router
    .route('/assets/:file')
    .get((req, res) => {
      const { file } = req.params;
      if (!isReceiptAssetName(file)) {
        throw new ApiError(404, 'not_found_error', 'route_not_found', 'No such receipt asset.');
      }
      const asset = assets[file];
      // Revalidated on every load (by its ETag), so a new release's script is never mixed with an old page.
      res.setHeader('Cache-Control', 'no-cache');
      res.type(asset.contentType).send(asset.body);
    })
    .all(methodNotAllowed(['GET']));

  // Before `/:voucherId`, which would take "<id>.pdf" as an id (and answer 404).
  router
    .route('/:voucherId.pdf')
    .get(documentHeaders, async (req, res) => {
      const receipt = await receiptFor(req.params.voucherId);
      const pdf = await receiptPdf({
        receipt,
        lang: languageOf(req),
        verifyUrl: receiptVerifyUrl(publicBaseUrl, receipt.voucherId),
      });
      res.setHeader('Content-Disposition', `inline; filename="${receiptFileName(receipt.orderId)}"`);
      res.type('application/pdf').send(pdf);
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/:voucherId')
    .get(documentHeaders, async (req, res) => {
      const receipt = await receiptFor(req.params.voucherId);
      const qr = await qrSvg(receiptVerifyUrl(publicBaseUrl, receipt.voucherId));
      res.type('html').send(receiptPage({ receipt, lang: languageOf(req), qrSvg: qr }));
    })
    .all(methodNotAllowed(['GET']));

  return router;
}
