import { gzipSync } from 'node:zlib';
import { unzipSync, zipSync } from 'fflate';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { parseAlipayBill } from '../../../src/channels/alipay/bill.js';
import { parseUnionpayBill } from '../../../src/channels/unionpay/bill.js';
import { parseWechatpayBill, wechatpayBillHash } from '../../../src/channels/wechatpay/bill.js';
import { alipayBillZip } from '../../../src/sandbox/channels/alipay/bill.js';
import type { DayBill } from '../../../src/sandbox/channels/bills.js';
import { unionpayBillFileContent } from '../../../src/sandbox/channels/unionpay/bill.js';
import { wechatpayBillFile } from '../../../src/sandbox/channels/wechatpay/bill.js';

const paidAt = new Date('2026-12-01T02:03:04Z');
const refundedAt = new Date('2026-12-01T09:00:00Z');

/** A day with two paid trades (one with a comma in its subject) and a partial refund. */
function buildDay(overrides: Partial<DayBill> = {}): DayBill {
  const trade = {
    outTradeNo: 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    channelTradeNo: '2026120122001000000000000001',
    subject: 'Rust, for the web',
    amount: 19_900,
    currency: 'CNY',
    createdAt: new Date(paidAt.getTime() - 60_000),
    paidAt,
    buyerId: '2088000000000001',
    reference: null,
    effective: true,
  };
  return {
    channel: 'alipay',
    date: '2026-12-01',
    trades: [trade, { ...trade, outTradeNo: 'pay_bbbbbbbbbbbbbbbbbbbbbbbbbbbb', amount: 1, channelTradeNo: 'T2' }],
    refunds: [
      {
        outTradeNo: trade.outTradeNo,
        channelTradeNo: trade.channelTradeNo,
        outRequestNo: 'rfd_0123456789abcdef0123456789abcdef',
        channelRefundId: '50300000000000000001',
        amount: 5_000,
        currency: 'CNY',
        orderAmount: trade.amount,
        subject: trade.subject,
        refundedAt,
        reference: null,
      },
    ],
    ...overrides,
  };
}

const expectedLines = (refundNo: string, tradeNos: [string | null, string | null, string | null]) => [
  expect.objectContaining({
    kind: 'payment',
    paymentId: 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    amount: 19_900,
    currency: 'CNY',
    succeeded: true,
    channelTradeNo: tradeNos[0],
  }),
  expect.objectContaining({
    kind: 'payment',
    paymentId: 'pay_bbbbbbbbbbbbbbbbbbbbbbbbbbbb',
    amount: 1,
    succeeded: true,
    channelTradeNo: tradeNos[1],
  }),
  expect.objectContaining({
    kind: 'refund',
    paymentId: 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    refundNo,
    amount: 5_000,
    succeeded: true,
    channelTradeNo: tradeNos[2],
  }),
];

describe("Alipay's trade bill (csv.zip, GBK, detail and summary)", () => {
  const zip = alipayBillZip(
    buildDay(),
    '2088000000000156',
    new Date('2026-11-30T16:00:00Z'),
    new Date('2026-12-01T16:00:00Z'),
  );

  it('reads back every trade and refund, with times in Beijing', () => {
    const lines = parseAlipayBill(zip);
    expect(lines).toEqual(
      expectedLines('rfd_0123456789abcdef0123456789abcdef', [
        '2026120122001000000000000001',
        'T2',
        '2026120122001000000000000001',
      ]),
    );
    expect(lines[0]?.at).toBe(paidAt.toISOString());
  });

  it('is GBK text with the detail and summary files Alipay names', () => {
    const files = unzipSync(zip);
    expect(Object.keys(files).sort()).toEqual([
      '2088000000000156_20261201_业务明细(汇总).csv',
      '2088000000000156_20261201_业务明细.csv',
    ]);
    const detail = iconv.decode(Buffer.from(files['2088000000000156_20261201_业务明细.csv']!), 'gbk');
    expect(detail).toContain('#支付宝业务明细查询');
    expect(detail).toContain('-50.00');
  });

  it('refuses a detail that does not add up to its summary', () => {
    const files = unzipSync(zip);
    const name = '2088000000000156_20261201_业务明细.csv';
    const detail = iconv.decode(Buffer.from(files[name]!), 'gbk').replace(',199.00,199.00,', ',199.00,198.00,');
    expect(() => parseAlipayBill(zipSync({ ...files, [name]: iconv.encode(detail, 'gbk') }))).toThrow(/summary/);
  });
});

describe("WeChat Pay's trade bill (backtick fields, SHA-1 of the unzipped file)", () => {
  const merchant = { appId: 'wx0000000000000001', mchId: '1900000001' };

  it('reads back every trade and refund once the hash holds', () => {
    const file = wechatpayBillFile(buildDay({ channel: 'wechatpay' }), merchant);
    expect(file.toString('utf8').split('\r\n')[1]).toMatch(/^`2026-12-01 10:03:04,`wx0000000000000001,/);
    const lines = parseWechatpayBill(gzipSync(file), 'SHA1', wechatpayBillHash(file).toUpperCase());
    expect(lines).toEqual(
      expectedLines('rfd_0123456789abcdef0123456789abcdef', [
        '2026120122001000000000000001',
        'T2',
        '2026120122001000000000000001',
      ]),
    );
  });

  it('shows a revoked trade as not effective', () => {
    const day = buildDay({ channel: 'wechatpay' });
    day.trades[1]!.effective = false;
    const file = wechatpayBillFile(day, merchant);
    const lines = parseWechatpayBill(gzipSync(file), 'SHA1', wechatpayBillHash(file));
    expect(lines[1]).toMatchObject({ status: 'REVOKED', succeeded: false, amount: 0 });
  });

  it('refuses a file whose hash differs from the signed answer', () => {
    const file = wechatpayBillFile(buildDay({ channel: 'wechatpay' }), merchant);
    const tampered = Buffer.from(file.toString('utf8').replace('`199.00', '`198.00'), 'utf8');
    expect(() => parseWechatpayBill(gzipSync(tampered), 'SHA1', wechatpayBillHash(file))).toThrow(/hash/);
  });
});

describe("UnionPay's bill (txnType 76: deflated zip of fixed-width ZM and ZME files)", () => {
  it('reads back consumes and refunds; an errored transaction is in the ZME file', () => {
    const day = buildDay({ channel: 'unionpay' });
    for (const t of day.trades) t.outTradeNo = t.outTradeNo.slice(4);
    day.refunds[0]!.outTradeNo = day.refunds[0]!.outTradeNo.slice(4);
    day.refunds[0]!.outRequestNo = '0123456789abcdef0123456789abcdef';
    day.trades[1]!.effective = false;
    const { fileContent } = unionpayBillFileContent(day, '777290058110048');
    const lines = parseUnionpayBill(fileContent, '2026-12-01', '777290058110048');
    expect(lines.map((l) => [l.kind, l.paymentId, l.refundNo, l.amount, l.succeeded])).toEqual([
      ['payment', 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa', null, 19_900, true],
      ['refund', 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa', '0123456789abcdef0123456789abcdef', 5_000, true],
      ['payment', 'pay_bbbbbbbbbbbbbbbbbbbbbbbbbbbb', null, 1, false],
    ]);
    expect(lines[0]?.at).toBe(paidAt.toISOString());
  });
});
