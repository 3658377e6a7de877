import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file the checkout page loads, served by the API itself: no CDN, no third-party script or font. */
export interface CheckoutAsset {
  body: Buffer;
  contentType: string;
}

/** The names under `/checkout/assets/`. */
export const CHECKOUT_ASSET_NAMES = ['checkout.js', 'checkout.css'] as const;
export type CheckoutAssetName = (typeof CHECKOUT_ASSET_NAMES)[number];

const HERE = dirname(fileURLToPath(import.meta.url));

/** Reads the checkout's script and style sheet once, at start: a missing file stops the process at boot. */
export function loadCheckoutAssets(): Record<CheckoutAssetName, CheckoutAsset> {
  return {
    'checkout.js': {
      body: readFileSync(join(HERE, 'assets', 'checkout.js')),
      contentType: 'application/javascript; charset=utf-8',
    },
    'checkout.css': {
      body: readFileSync(join(HERE, 'assets', 'checkout.css')),
      contentType: 'text/css; charset=utf-8',
    },
  };
}
