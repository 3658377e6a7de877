import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file the receipt page loads, served by the API itself (no CDN, no third-party script or font). */
export interface ReceiptAsset {
  body: Buffer;
  contentType: string;
}

/** The names under `/receipts/assets/`. */
export const RECEIPT_ASSET_NAMES = ['receipt.js', 'receipt.css'] as const;
export type ReceiptAssetName = (typeof RECEIPT_ASSET_NAMES)[number];

export function isReceiptAssetName(name: string): name is ReceiptAssetName {
  return (RECEIPT_ASSET_NAMES as readonly string[]).includes(name);
}

const HERE = dirname(fileURLToPath(import.meta.url));

/** Reads the receipt page's script and style sheet once, at start: a missing file stops the process at boot. */
export function loadReceiptAssets(): Record<ReceiptAssetName, ReceiptAsset> {
  return {
    'receipt.js': {
      body: readFileSync(join(HERE, 'assets', 'receipt.js')),
      contentType: 'application/javascript; charset=utf-8',
    },
    'receipt.css': { body: readFileSync(join(HERE, 'assets', 'receipt.css')), contentType: 'text/css; charset=utf-8' },
  };
}
