import QRCode from 'qrcode';

/**
 * The address a receipt's QR code opens: the receipt itself at its verification section, so a
 * printed receipt leads back to the signed voucher and its check.
 */
export function receiptVerifyUrl(publicBaseUrl: string, voucherId: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/receipts/${voucherId}#verify`;
}

/** Error correction M (15% of the code may be lost): enough for a printed, folded receipt. */
const QR_OPTIONS = { errorCorrectionLevel: 'M' } as const;

/** The QR code of `text` as an SVG element (dark modules on white, a two-module quiet zone). */
export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { ...QR_OPTIONS, type: 'svg', margin: 2 });
}

/** The QR code of `text` as its matrix of modules, `dark[row][column]`, for drawing in a PDF. */
export function qrModules(text: string): boolean[][] {
  const { modules } = QRCode.create(text, QR_OPTIONS);
  return Array.from({ length: modules.size }, (_, row) =>
    Array.from({ length: modules.size }, (_, column) => Boolean(modules.get(row, column))),
  );
}
