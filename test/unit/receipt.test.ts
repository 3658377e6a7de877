import { describe, expect, it } from 'vitest';
import { generateKeyring } from '../../src/crypto/keyring.js';
import { receiptPage } from '../../src/receipts/page.js';
import { receiptVerifyUrl } from '../../src/receipts/qr.js';
import {
  formatInstant,
  RECEIPT_ID_PATTERN,
  receiptFileName,
  receiptOf,
  type ReceiptVoucher,
} from '../../src/receipts/receipt.js';
import { signVoucher, type VoucherFacts } from '../../src/vouchers/voucher.js';
import { buildVoucherFacts } from '../support/builders.js';

const keyring = generateKeyring();

/** A stored voucher signed over `facts`, as the vouchers collection keeps it. */
function storedVoucher(facts: Partial<VoucherFacts> = {}, stored: Partial<ReceiptVoucher> = {}): ReceiptVoucher {
  return { ...signVoucher(buildVoucherFacts(facts), keyring.vouchers), status: 'valid', ...stored };
}

const discounted: Partial<VoucherFacts> = {
  amount: 24_000,
  items: [
    {
      courseId: 'ts-101',
      title: 'TypeScript 从零开始',
      kind: 'course',
      unitAmount: 19_900,
      quantity: 1,
      discounts: [{ code: 'SPRING20', description: 'Spring sale', amount: 2_000 }],
    },
    { courseId: 'live-1', title: 'Live Q&A', kind: 'lesson', unitAmount: 4_900, quantity: 2 },
  ],
  discounts: [{ description: 'Bundle price', amount: 3_700 }],
};

describe('the receipt of a voucher', () => {
  it('shows each line with its kind, quantity, unit price and its own discounts, from the signed payload', () => {
    const receipt = receiptOf(storedVoucher(discounted), 'Knowledge Shop');
    expect(receipt).toMatchObject({ merchant: 'Knowledge Shop', orderId: 'ord-1', channel: 'alipay' });
    expect(receipt.lines).toHaveLength(2);
    expect(receipt.lines[0]).toMatchObject({
      title: 'TypeScript 从零开始',
      kind: 'course',
      quantity: 1,
      unitPrice: { major: '199.00', currency: 'CNY' },
      gross: { major: '199.00' },
      net: { major: '179.00' },
      discounts: [{ code: 'SPRING20', description: 'Spring sale', amount: { minor: 2_000, major: '20.00' } }],
    });
    expect(receipt.lines[1]).toMatchObject({
      kind: 'lesson',
      quantity: 2,
      unitPrice: { major: '49.00' },
      gross: { major: '98.00' },
      discounts: [],
    });
  });

  it("adds up to what was paid: the order's discounts shared among the lines, every discount in the total", () => {
    const receipt = receiptOf(storedVoucher(discounted), 'Knowledge Shop');
    expect(receipt.orderDiscounts).toEqual([
      { code: null, description: 'Bundle price', amount: { minor: 3_700, currency: 'CNY', major: '37.00' } },
    ]);
    expect(receipt.subtotal.major).toBe('297.00');
    expect(receipt.discountTotal.major).toBe('57.00');
    expect(receipt.total).toEqual({ minor: 24_000, currency: 'CNY', major: '240.00' });
    expect(receipt.lines.reduce((sum, line) => sum + line.paid.minor, 0)).toBe(24_000);
  });

  it('reads a line signed before kinds were kept as a course', () => {
    const receipt = receiptOf(storedVoucher(), 'Knowledge Shop');
    expect(receipt.lines[0]?.kind).toBe('course');
    expect(receipt.orderDiscounts).toEqual([]);
    expect(receipt.fx).toBeNull();
  });

  it('prints yen without decimals and a cross-border payment settled in dinars with three', () => {
    const receipt = receiptOf(
      storedVoucher({
        amount: 1_980,
        currency: 'JPY',
        items: [{ courseId: 'jp-1', title: '日本語入門', unitAmount: 1_980, quantity: 1 }],
        fx: {
          rate: '0.00204',
          presentmentAmount: 1_980,
          presentmentCurrency: 'JPY',
          settlementAmount: 4_039,
          settlementCurrency: 'KWD',
          quotedAt: '2026-11-24T09:59:30.000Z',
          source: 'sandbox',
        },
      }),
      'Knowledge Shop',
    );
    expect(receipt.total.major).toBe('1980');
    expect(receipt.lines[0]?.unitPrice.major).toBe('1980');
    expect(receipt.fx).toEqual({
      rate: '0.00204',
      presentment: { minor: 1_980, currency: 'JPY', major: '1980' },
      settlement: { minor: 4_039, currency: 'KWD', major: '4.039' },
      quotedAt: '2026-11-24T09:59:30.000Z',
      source: 'sandbox',
    });
  });

  it('prints dinars with three decimals in the presentment currency too', () => {
    const receipt = receiptOf(
      storedVoucher({
        amount: 12_345,
        currency: 'KWD',
        items: [{ courseId: 'k', title: 'Arabic calligraphy', unitAmount: 12_345, quantity: 1 }],
      }),
      'Knowledge Shop',
    );
    expect(receipt.total.major).toBe('12.345');
  });

  it('marks a voided voucher void, with when', () => {
    const voidedAt = new Date('2026-11-25T08:00:00.000Z');
    const receipt = receiptOf(storedVoucher({}, { status: 'void', voidedAt }), 'Knowledge Shop');
    expect(receipt.status).toEqual({ state: 'void', voidedAt: '2026-11-25T08:00:00.000Z' });
    expect(receiptOf(storedVoucher(), 'Knowledge Shop').status).toEqual({ state: 'valid' });
  });

  it('refuses a payload that is not a voucher of this receipt', () => {
    const voucher = storedVoucher();
    expect(() => receiptOf({ ...voucher, voucherId: 'vch_bbbbbbbbbbbbbbbbbbbbbbbbbbbb' }, 'M')).toThrow();
    expect(() => receiptOf({ ...voucher, payload: '{"version":2}' }, 'M')).toThrow();
    expect(() => receiptOf({ ...voucher, payload: 'not json' }, 'M')).toThrow();
  });

  it('knows a receipt id by its shape alone: 28 base32 characters after vch_', () => {
    expect(RECEIPT_ID_PATTERN.test('vch_abcdefghijklmnopqrstuvwxyz23')).toBe(true);
    for (const id of ['vch_abc', 'vch_abcdefghijklmnopqrstuvwxyz23\u0000', 'pay_abcdefghijklmnopqrstuvwxyz23', '']) {
      expect(RECEIPT_ID_PATTERN.test(id), JSON.stringify(id)).toBe(false);
    }
  });

  it('prints times to the minute in UTC, and names its PDF after the order with header-safe characters', () => {
    expect(formatInstant('2026-11-24T10:00:59.000Z')).toBe('2026-11-24 10:00 UTC');
    expect(receiptFileName('ord-1001')).toBe('receipt-ord-1001.pdf');
    expect(receiptFileName('ord "1";\r\n2')).toBe('receipt-ord__1____2.pdf');
    expect(receiptVerifyUrl('https://pay.example/', 'vch_x')).toBe('https://pay.example/receipts/vch_x#verify');
  });
});

describe('the receipt page', () => {
  const qrSvg = '<svg xmlns="http://www.w3.org/2000/svg"></svg>';

  it('shows the lines, discounts, total and fx in English, and nothing of the title as markup', () => {
    const receipt = receiptOf(
      storedVoucher({
        ...discounted,
        items: [{ ...discounted.items![0]!, title: '<script>alert(1)</script>' }, discounted.items![1]!],
        fx: {
          rate: '0.1392',
          presentmentAmount: 24_000,
          presentmentCurrency: 'CNY',
          settlementAmount: 3_341,
          settlementCurrency: 'USD',
          quotedAt: '2026-11-24T09:59:30.000Z',
          source: 'sandbox',
        },
      }),
      'Knowledge Shop',
    );
    const html = receiptPage({ receipt, lang: 'en', qrSvg });
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).toContain('SPRING20 · Spring sale');
    expect(html).toContain('−CNY 20.00');
    expect(html).toContain('Bundle price');
    expect(html).toContain('data-testid="total">CNY 240.00<');
    expect(html).toContain('1 CNY = 0.1392 USD');
    expect(html).toContain('USD 33.41');
    expect(html).toContain(qrSvg);
    expect(html).not.toMatch(/<script>|\son\w+=|style=/);
    expect(html).not.toContain('void-banner');
  });

  it('speaks Chinese, and says clearly when the receipt is void', () => {
    const receipt = receiptOf(storedVoucher(discounted, { status: 'void', voidedAt: null }), 'Knowledge Shop');
    const html = receiptPage({ receipt, lang: 'zh', qrSvg });
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain('已退款：本收据已作废');
    expect(html).toContain('实付金额');
    expect(html).toContain('<span class="kind">课程</span>');
    expect(html).toContain('<span class="kind">单节课</span>');
    expect(html).toContain('支付宝');
    expect(html).toContain('href="/receipts/vch_abcdefghijklmnopqrstuvwxyz23?lang=en"');
  });
});
