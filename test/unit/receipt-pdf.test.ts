import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { describe, expect, it } from 'vitest';
import { generateKeyring } from '../../src/crypto/keyring.js';
import { receiptPdf } from '../../src/receipts/pdf.js';
import { receiptOf, type Receipt } from '../../src/receipts/receipt.js';
import type { ReceiptLanguage } from '../../src/receipts/text.js';
import { signVoucher, type VoucherFacts } from '../../src/vouchers/voucher.js';
import { buildVoucherFacts } from '../support/builders.js';

const keyring = generateKeyring();
const VERIFY_URL = 'https://pay.example/receipts/vch_abcdefghijklmnopqrstuvwxyz23#verify';

function receiptFor(facts: Partial<VoucherFacts>, status: 'valid' | 'void' = 'valid'): Receipt {
  const voucher = signVoucher(buildVoucherFacts({ orderId: 'ord-2026-0042', ...facts }), keyring.vouchers);
  return receiptOf(
    { ...voucher, status, voidedAt: status === 'void' ? new Date('2026-11-25T08:00:00Z') : null },
    'Knowledge Shop',
  );
}

/** The PDF read back with PDF.js: its text, page by page joined, and its document information. */
async function readBack(pdf: Buffer) {
  const document = await getDocument({ data: new Uint8Array(pdf), isEvalSupported: false }).promise;
  const pages: string[] = [];
  for (let n = 1; n <= document.numPages; n++) {
    const content = await (await document.getPage(n)).getTextContent();
    pages.push(content.items.map((item) => ('str' in item ? item.str : '')).join(' '));
  }
  // PDF.js types the document information as a bare `Object`.
  const info = (await document.getMetadata()).info as unknown as Record<string, unknown>;
  await document.destroy();
  return { text: pages.join('\n'), info };
}

const render = (receipt: Receipt, lang: ReceiptLanguage) => receiptPdf({ receipt, lang, verifyUrl: VERIFY_URL });

describe('the receipt PDF', () => {
  it('is a PDF with the order id, every line, its discounts, the total and how to verify it', async () => {
    const receipt = receiptFor({
      amount: 17_900,
      items: [
        {
          courseId: 'ts-101',
          title: 'TypeScript 101',
          kind: 'course',
          unitAmount: 19_900,
          quantity: 1,
          discounts: [{ code: 'SPRING20', description: 'Spring sale', amount: 2_000 }],
        },
      ],
    });
    const pdf = await render(receipt, 'en');
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const { text, info } = await readBack(pdf);
    expect(text).toContain('Knowledge Shop');
    expect(text).toContain('ord-2026-0042');
    expect(text).toContain('TypeScript 101');
    expect(text).toContain('Course');
    expect(text).toContain('SPRING20 · Spring sale');
    expect(text).toContain('−CNY 20.00');
    expect(text).toContain('CNY 179.00');
    expect(text).toContain('Alipay');
    expect(text).toContain(receipt.digest);
    expect(text).toContain(VERIFY_URL);
    expect(info).toMatchObject({ Title: 'Receipt ord-2026-0042', Author: 'Knowledge Shop', Language: 'en' });
  });

  it('prints Chinese course titles and words with the embedded font, the exchange quote and a void', async () => {
    const receipt = receiptFor(
      {
        amount: 1_980,
        currency: 'JPY',
        channel: 'card',
        items: [{ courseId: 'jp', title: '日语入门：五十音图', kind: 'bundle', unitAmount: 1_980, quantity: 1 }],
        fx: {
          rate: '0.0482',
          presentmentAmount: 1_980,
          presentmentCurrency: 'JPY',
          settlementAmount: 9_544,
          settlementCurrency: 'CNY',
          quotedAt: '2026-11-24T09:59:30.000Z',
          source: 'sandbox',
        },
      },
      'void',
    );
    const { text, info } = await readBack(await render(receipt, 'zh'));
    expect(text).toContain('日语入门：五十音图');
    expect(text).toContain('课程包');
    expect(text).toContain('银行卡');
    expect(text).toContain('实付金额');
    expect(text).toContain('JPY 1980');
    expect(text).toContain('1 JPY = 0.0482 CNY');
    expect(text).toContain('CNY 95.44');
    expect(text).toContain('已退款：本收据已作废');
    expect(info).toMatchObject({ Language: 'zh-CN' });
  });

  it('embeds only the glyphs it uses, so a receipt stays small', async () => {
    const pdf = await render(receiptFor({}), 'zh');
    expect(pdf.length).toBeLessThan(400_000);
  });
});
