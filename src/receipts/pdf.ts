import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as fontkit from 'fontkit';
import PDFDocument from 'pdfkit';
import { discountLabel, moneyText } from './page.js';
import { qrModules } from './qr.js';
import { formatInstant, type Receipt, type ReceiptDiscount } from './receipt.js';
import { channelLabel, kindLabel, RECEIPT_TEXT, type ReceiptLanguage } from './text.js';

/**
 * Noto Sans SC (Simplified Chinese, Latin too; SIL Open Font License) from the
 * `@embedpdf/fonts-sc` package, so Chinese course titles print. Parsed once per process, on the
 * first PDF, and kept: pdfkit embeds only the glyphs each receipt uses.
 */
let fonts: { regular: fontkit.Font; bold: fontkit.Font } | undefined;

function receiptFonts(): { regular: fontkit.Font; bold: fontkit.Font } {
  if (!fonts) {
    const dir = join(dirname(createRequire(import.meta.url).resolve('@embedpdf/fonts-sc')), '..', 'fonts');
    const open = (file: string) => {
      const font = fontkit.create(readFileSync(join(dir, file)));
      if (!('layout' in font)) throw new Error(`${file} is a font collection, not a font`);
      return font;
    };
    fonts = { regular: open('NotoSansHans-Regular.otf'), bold: open('NotoSansHans-Bold.otf') };
  }
  return fonts;
}

export interface ReceiptPdfOptions {
  receipt: Receipt;
  lang: ReceiptLanguage;
  /** The address the QR code opens (the receipt's verification). */
  verifyUrl: string;
  /** False for tests that read the content streams as they are; compressed by default. */
  compress?: boolean;
}

const INK = '#1f2328';
const MUTED = '#59636e';
const LINE = '#d1d9e0';
const GOOD = '#1a7f37';
const BAD = '#cf222e';

/**
 * The receipt as an A4 PDF: the same facts as the page, its QR code drawn as vectors, the key id
 * and digest to check it by. Answers the whole file.
 */
export function receiptPdf({ receipt, lang, verifyUrl, compress = true }: ReceiptPdfOptions): Promise<Buffer> {
  const text = RECEIPT_TEXT[lang];
  const { regular, bold } = receiptFonts();
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    compress,
    lang: lang === 'zh' ? 'zh-CN' : 'en',
    displayTitle: true,
    info: {
      Title: `${text.title} ${receipt.orderId}`,
      Author: receipt.merchant,
      Subject: `${text.title} · ${receipt.voucherId}`,
      CreationDate: new Date(receipt.paidAt),
    },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  // pdfkit takes a parsed fontkit font as well as a file (PDFFontFactory.open); its types name only files.
  doc.registerFont('regular', regular as unknown as Buffer);
  doc.registerFont('bold', bold as unknown as Buffer);

  const left = doc.page.margins.left;
  const right = doc.page.width - doc.page.margins.right;
  const width = right - left;
  const amountWidth = 120;

  const rule = (color = LINE, thickness = 0.75) => {
    doc.moveTo(left, doc.y).lineTo(right, doc.y).lineWidth(thickness).strokeColor(color).stroke();
    doc.moveDown(0.5);
  };
  /** A row with words on the left and an amount on the right, on one baseline. */
  const row = (
    label: string,
    amount: string,
    options: { font?: string; size?: number; color?: string; indent?: number } = {},
  ) => {
    const { font = 'regular', size = 10, color = INK, indent = 0 } = options;
    doc.font(font).fontSize(size).fillColor(color);
    const y = doc.y;
    doc.text(label, left + indent, y, { width: width - amountWidth - indent - 10 });
    const after = doc.y;
    doc.text(amount, right - amountWidth, y, { width: amountWidth, align: 'right' });
    doc.y = Math.max(after, doc.y);
  };
  const discounts = (list: readonly ReceiptDiscount[], indent: number) => {
    for (const d of list) row(discountLabel(d), moneyText(d.amount, true), { color: GOOD, size: 9, indent });
  };

  doc.font('bold').fontSize(16).fillColor(INK).text(receipt.merchant, left, doc.y, { width });
  doc.font('bold').fontSize(22).text(text.title);
  doc.moveDown(0.5);

  if (receipt.status.state === 'void') {
    const top = doc.y;
    doc
      .font('bold')
      .fontSize(12)
      .fillColor(BAD)
      .text(text.voidHeading, left + 10, top + 8, { width: width - 20 });
    doc
      .font('regular')
      .fontSize(10)
      .text(text.voidBody, { width: width - 20 });
    if (receipt.status.voidedAt) doc.text(`${text.voidedAt}: ${formatInstant(receipt.status.voidedAt)}`);
    doc
      .rect(left, top, width, doc.y - top + 8)
      .lineWidth(1.5)
      .strokeColor(BAD)
      .stroke();
    doc.y += 16;
  }

  const facts: [string, string][] = [
    [text.orderId, receipt.orderId],
    [text.paidAt, formatInstant(receipt.paidAt)],
    [text.channel, channelLabel(lang, receipt.channel)],
    [text.voucherId, receipt.voucherId],
  ];
  for (const [label, value] of facts) {
    const y = doc.y;
    doc.font('regular').fontSize(10).fillColor(MUTED).text(label, left, y, { width: 110 });
    doc.fillColor(INK).text(value, left + 120, y, { width: width - 120 });
    doc.moveDown(0.2);
  }
  doc.moveDown(0.5);
  rule();

  const header = doc.y;
  doc.font('regular').fontSize(9).fillColor(MUTED);
  doc.text(text.item, left, header, { width: width - amountWidth });
  doc.text(text.amount, right - amountWidth, header, { width: amountWidth, align: 'right' });
  doc.moveDown(0.3);
  rule();
  for (const line of receipt.lines) {
    if (doc.y > doc.page.height - doc.page.margins.bottom - 80) doc.addPage();
    row(`${line.title}  ·  ${kindLabel(lang, line.kind)}`, moneyText(line.gross), { font: 'bold', size: 11 });
    row(`${text.quantity} ${line.quantity} × ${moneyText(line.unitPrice)}`, '', { color: MUTED, size: 9 });
    discounts(line.discounts, 12);
    doc.moveDown(0.4);
  }
  rule();
  row(text.subtotal, moneyText(receipt.subtotal));
  if (receipt.orderDiscounts.length > 0) {
    doc.font('regular').fontSize(9).fillColor(MUTED).text(text.orderDiscounts, left);
    discounts(receipt.orderDiscounts, 0);
  }
  if (receipt.discountTotal.minor > 0) row(text.discountTotal, moneyText(receipt.discountTotal, true));
  doc.moveDown(0.3);
  rule(INK, 1.5);
  row(text.total, moneyText(receipt.total), { font: 'bold', size: 14 });
  doc.moveDown(1);

  const fx = receipt.fx;
  if (fx) {
    doc.font('bold').fontSize(11).fillColor(INK).text(text.fxHeading, left);
    doc.moveDown(0.2);
    row(text.fxRate, `1 ${fx.presentment.currency} = ${fx.rate} ${fx.settlement.currency}`, { size: 9 });
    row(text.fxSettlement, moneyText(fx.settlement), { size: 9 });
    row(text.fxQuotedAt, formatInstant(fx.quotedAt), { size: 9 });
    row(text.fxSource, fx.source, { size: 9 });
    doc.moveDown(1);
  }

  const qrSize = 110;
  if (doc.y > doc.page.height - doc.page.margins.bottom - qrSize - 30) doc.addPage();
  const top = doc.y;
  const modules = qrModules(verifyUrl);
  const cell = qrSize / modules.length;
  const qrLeft = right - qrSize;
  doc.fillColor('#000000');
  modules.forEach((cells, r) =>
    cells.forEach((dark, c) => {
      if (dark) doc.rect(qrLeft + c * cell, top + r * cell, cell + 0.05, cell + 0.05);
    }),
  );
  doc.fill();
  doc
    .font('regular')
    .fontSize(8)
    .fillColor(MUTED)
    .text(text.qrCaption, qrLeft - 10, top + qrSize + 4, { width: qrSize + 20, align: 'center' });
  const textWidth = width - qrSize - 20;
  doc.font('bold').fontSize(11).fillColor(INK).text(text.verifyHeading, left, top, { width: textWidth });
  doc.font('regular').fontSize(9).fillColor(INK).text(text.pdfVerifyLead, { width: textWidth });
  doc.moveDown(0.4);
  doc.fillColor(MUTED).text(`${text.keyId}: ${receipt.keyId}`, { width: textWidth });
  doc.text(`${text.digest}: ${receipt.digest}`, { width: textWidth });
  doc.fillColor(INK).text(verifyUrl, { width: textWidth, link: verifyUrl });
  doc.end();
  return done;
}
