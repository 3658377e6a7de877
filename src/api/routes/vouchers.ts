import { Router } from 'express';
import type { Keyring } from '../../crypto/keyring.js';
import type { Models } from '../../db/connect.js';
import { toSignedVoucher, voucherJwks } from '../../vouchers/voucher.js';
import { ApiError, methodNotAllowed } from '../errors.js';

const VOUCHER_ID_PATTERN = /^vch_[a-z2-7]{28}$/;

/**
 * `GET /v1/vouchers/keys`: the voucher public keys as a JWKS, so anyone can verify a voucher
 * offline. `GET /v1/vouchers/:voucherId`: the voucher with its payload, digest and signature.
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
