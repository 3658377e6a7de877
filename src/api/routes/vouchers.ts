import { Router } from 'express';
import type { Keyring } from '../../crypto/keyring.js';
import type { Models } from '../../db/connect.js';
import { checkVoucher, toSignedVoucher, voucherJwks } from '../../vouchers/voucher.js';
import { ApiError, methodNotAllowed } from '../errors.js';
import { createVoucherVerifySchema } from '../schemas.js';
import { parseOrThrow } from '../validation.js';

const verifySchema = createVoucherVerifySchema();

const VOUCHER_ID_PATTERN = /^vch_[a-z2-7]{28}$/;

/**
 * `GET /v1/vouchers/keys`: the voucher public keys as a JWKS, so anyone can verify a voucher
 * offline. `GET /v1/vouchers/:voucherId`: the voucher with its payload, digest and signature.
 * `POST /v1/vouchers/verify`: whether a voucher is authentic (signed by a key of ours, digest
 * intact), still on record, and whether its payment was since refunded.
 */
export function voucherRoutes({ models, voucherKeys }: { models: Models; voucherKeys: Keyring['vouchers'] }): Router {
  const router = Router();
  const jwks = voucherJwks(voucherKeys);
  router
    .route('/keys')
    .get((_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.json(jwks);
    })
    .all(methodNotAllowed(['GET']));
  router
    .route('/verify')
    .post(async (req, res) => {
      const voucher = parseOrThrow(verifySchema, req.body);
      const check = checkVoucher(voucher, voucherKeys);
      let payload: { voucherId?: unknown; paymentId?: unknown } = {};
      try {
        payload = JSON.parse(voucher.payload) as typeof payload;
      } catch {
        // not JSON: it cannot be authentic anyway
      }
      const voucherId = typeof payload.voucherId === 'string' ? payload.voucherId : null;
      const stored = check.authentic && voucherId ? await models.vouchers.findOne({ _id: voucherId }).lean() : null;
      const payment =
        stored && typeof payload.paymentId === 'string'
          ? await models.payments.findOne({ _id: payload.paymentId }, { status: 1 }).lean()
          : null;
      res.json({
        authentic: check.authentic,
        ...(check.authentic ? {} : { reason: check.reason }),
        voucherId,
        paymentId: typeof payload.paymentId === 'string' ? payload.paymentId : null,
        /** Issued by this system and still on record with exactly this digest. */
        onRecord: stored !== null && stored.digest === voucher.digest,
        void: stored?.status === 'void',
        refunded: payment?.status === 'refunded',
        paymentStatus: payment?.status ?? null,
      });
    })
    .all(methodNotAllowed(['POST']));
  router
    .route('/:voucherId')
    .get(async (req, res) => {
      const { voucherId } = req.params;
      const notFound = new ApiError(
        404,
        'not_found_error',
        'voucher_not_found',
        `No voucher ${voucherId}.`,
        'voucherId',
      );
      if (!VOUCHER_ID_PATTERN.test(voucherId)) throw notFound;
      const doc = await models.vouchers.findOne({ _id: voucherId }).lean();
      if (!doc) throw notFound;
      res.json({ ...toSignedVoucher(doc), status: doc.status });
    })
    .all(methodNotAllowed(['GET']));
  return router;
}
