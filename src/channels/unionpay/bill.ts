import { inflateSync } from 'node:zlib';
import { unzipSync } from 'fflate';
import type { BillLine } from '../../../domain/reconciliation.js';
import { ChannelRejectedError } from '../types.js';
import { paymentIdOfUnionpayOrder, UNIONPAY_CNY } from './protocol.js';

/**
 * UnionPay's merchant bill (`txnType 76`, `fileType 00`): `fileContent` is the base64 of a
 * zlib-deflated zip holding fixed-width text files: `INN<yyMMdd>88ZM_<merId>` lists the day's
 * transactions that succeeded, `INN<yyMMdd>88ZME_<merId>` those in error. Fields are padded to
 * their widths (amounts: fen, zero-padded on the left; text: spaces on the right) and separated
 * by one space. The fields below are the ones this product reads, in the file's order.
 */
export const UNIONPAY_BILL_FIELDS = [
  ['交易代码', 3],
  ['系统跟踪号', 6],
  ['交易传输时间', 10],
  ['帐号', 19],
  ['交易金额', 12],
  ['交易币种', 3],
  ['查询流水号', 21],
  ['商户订单号', 40],
  ['交易类型', 2],
  ['交易子类', 2],
  ['业务类型', 6],
  ['原交易查询流水号', 21],
  ['商户代码', 15],
  ['原始订单号', 40],
  ['应答码', 2],
] as const;

export type UnionpayBillField = (typeof UNIONPAY_BILL_FIELDS)[number][0];

/** `交易代码` of a consume and of a refund (退货). */
export const UNIONPAY_BILL_CONSUME = 'S22';
export const UNIONPAY_BILL_REFUND = 'S30';

/** The width of a record line. */
export const UNIONPAY_BILL_LINE_WIDTH =
  UNIONPAY_BILL_FIELDS.reduce((sum, [, width]) => sum + width, 0) + UNIONPAY_BILL_FIELDS.length - 1;

/** The files' names in the zip, for a settle date `yyyyMMdd`. */
export function unionpayBillFileNames(date: string, merId: string): { ok: string; errors: string } {
  const day = date.replaceAll('-', '').slice(2);
  return { ok: `INN${day}88ZM_${merId}`, errors: `INN${day}88ZME_${merId}` };
}

function malformed(what: string): ChannelRejectedError {
  return new ChannelRejectedError(`UnionPay's bill is malformed: ${what}`, 'malformed_bill');
}

function recordOf(line: string): Record<UnionpayBillField, string> {
  if (line.length !== UNIONPAY_BILL_LINE_WIDTH) {
    throw malformed(`a record is ${line.length} characters wide, not ${UNIONPAY_BILL_LINE_WIDTH}`);
  }
  const record = {} as Record<UnionpayBillField, string>;
  let at = 0;
  for (const [name, width] of UNIONPAY_BILL_FIELDS) {
    record[name] = line.slice(at, at + width).trim();
    at += width + 1;
  }
  return record;
}

/** ISO-4217 alphabetic codes of the numeric ones UnionPay's files carry. */
const CURRENCY_OF_CODE: Readonly<Record<string, string>> = {
  [UNIONPAY_CNY]: 'CNY',
  '840': 'USD',
  '344': 'HKD',
  '978': 'EUR',
  '392': 'JPY',
};

/**
 * Reads the `fileContent` of a bill answer into bill lines. `date` is the settle date the file is
 * for (`YYYY-MM-DD`): the records' times carry no year. A refund's line names the refund by its
 * `orderId` (the refund's own order number) and the payment by `原始订单号`.
 */
export function parseUnionpayBill(fileContent: string, date: string, merId: string): BillLine[] {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(new Uint8Array(inflateSync(Buffer.from(fileContent, 'base64'))));
  } catch {
    throw malformed('fileContent is not a deflated zip');
  }
  const names = unionpayBillFileNames(date, merId);
  const lines: BillLine[] = [];
  const year = date.slice(0, 4);
  for (const [name, succeeded] of [
    [names.ok, true],
    [names.errors, false],
  ] as const) {
    const file = files[name];
    if (file === undefined) throw malformed(`${name} is missing`);
    for (const text of Buffer.from(file).toString('utf8').split(/\r?\n/)) {
      if (text.trim() === '') continue;
      const r = recordOf(text);
      const refund = r['交易代码'] === UNIONPAY_BILL_REFUND;
      const t = r['交易传输时间'];
      const at = new Date(
        `${year}-${t.slice(0, 2)}-${t.slice(2, 4)}T${t.slice(4, 6)}:${t.slice(6, 8)}:${t.slice(8, 10)}+08:00`,
      );
      if (!/^\d{12}$/.test(r['交易金额']) || Number.isNaN(at.getTime())) throw malformed(`record ${r['查询流水号']}`);
      lines.push({
        kind: refund ? 'refund' : 'payment',
        paymentId: paymentIdOfUnionpayOrder(refund ? r['原始订单号'] : r['商户订单号']),
        refundNo: refund ? r['商户订单号'] : null,
        channelTradeNo: (refund ? r['原交易查询流水号'] : r['查询流水号']) || null,
        amount: Number(r['交易金额']),
        currency: CURRENCY_OF_CODE[r['交易币种']] ?? r['交易币种'],
        status: r['应答码'],
        succeeded,
        at: at.toISOString(),
      });
    }
  }
  return lines;
}

export { CURRENCY_OF_CODE as UNIONPAY_CURRENCY_OF_CODE };
