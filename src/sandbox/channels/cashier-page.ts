import { type Currency, formatMajor } from '../../../domain/money.js';
import type { PaymentChannel } from '../../../domain/payment.js';
import { CASHIER_FORM_TOKEN_FIELD } from './cashier-form.js';

/**
 * The simulated channels' cashier pages: small, self-contained HTML (inline CSS, no scripts, no
 * external assets) that a learner, a browser test or a curl can drive. Every value is escaped.
 */

const BRANDS: Record<PaymentChannel, { name: string; color: string }> = {
  alipay: { name: 'Alipay', color: '#1677ff' },
  wechatpay: { name: 'WeChat Pay', color: '#07c160' },
  unionpay: { name: 'UnionPay', color: '#d7000f' },
  card: { name: 'Card', color: '#635bff' },
  paypal: { name: 'PayPal', color: '#003087' },
};

/** Headers for every cashier page: nothing loads from elsewhere, forms post only back here. */
export const CASHIER_PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
} as const;

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function shanghaiTime(at: Date): string {
  return `${new Date(at.getTime() + 8 * 60 * 60 * 1000).toISOString().slice(0, 16).replace('T', ' ')} (UTC+8)`;
}

function page(channel: PaymentChannel, title: string, content: string): string {
  const brand = BRANDS[channel];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · ${brand.name} sandbox</title>
<style>
  :root { --brand: ${brand.color}; }
  * { box-sizing: border-box; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #f2f4f7;
    font: 16px/1.5 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif; color: #1f2329; }
  main { width: min(420px, 92vw); background: #fff; border-radius: 12px; box-shadow: 0 6px 24px rgba(0,0,0,.08); overflow: hidden; }
  header { background: var(--brand); color: #fff; padding: 14px 20px; font-weight: 600; display: flex; justify-content: space-between; }
  header small { font-weight: 400; opacity: .85; }
  section { padding: 20px; }
  h1 { font-size: 20px; margin: 0 0 12px; }
  .amount { font-size: 34px; font-weight: 700; margin: 4px 0 16px; font-variant-numeric: tabular-nums; }
  .amount span { font-size: 16px; font-weight: 500; color: #646a73; margin-left: 6px; }
  dl { display: grid; grid-template-columns: auto 1fr; gap: 6px 14px; margin: 0 0 20px; font-size: 14px; }
  dt { color: #646a73; } dd { margin: 0; word-break: break-all; }
  .actions { display: flex; gap: 12px; }
  .actions form { flex: 1; margin: 0; }
  button { width: 100%; padding: 12px; font: inherit; font-weight: 600; border-radius: 8px; cursor: pointer; border: 1px solid transparent; }
  button.pay { background: var(--brand); color: #fff; }
  button.decline { background: #fff; color: #1f2329; border-color: #d0d3d6; }
  .notice { padding: 12px 14px; border-radius: 8px; background: #f5f6f7; }
  .notice.ok { background: #e8f7ee; color: #0a6b35; } .notice.bad { background: #fdecec; color: #a1261f; }
</style>
</head>
<body>
<main>
<header>${brand.name} <small>sandbox cashier</small></header>
<section>
${content}
</section>
</main>
</body>
</html>
`;
}

export interface CashierOrder {
  channel: PaymentChannel;
  outTradeNo: string;
  merchantId: string;
  subject: string;
  /** Minor units. */
  amount: number;
  currency: Currency;
  expiresAt: Date;
}

function details(order: CashierOrder): string {
  return `<p class="amount" data-testid="amount">${escapeHtml(formatMajor(order.amount, order.currency))}<span>${escapeHtml(order.currency)}</span></p>
<dl>
  <dt>Merchant</dt><dd data-testid="merchant">${escapeHtml(order.merchantId)}</dd>
  <dt>Course</dt><dd data-testid="subject">${escapeHtml(order.subject)}</dd>
  <dt>Order</dt><dd data-testid="out-trade-no">${escapeHtml(order.outTradeNo)}</dd>
  <dt>Pay before</dt><dd data-testid="expires-at">${escapeHtml(shanghaiTime(order.expiresAt))}</dd>
</dl>`;
}

/**
 * The cashier: the order and two buttons posting to `${actionBase}/pay` and `${actionBase}/decline`,
 * each form carrying `formToken` (see cashier-form.ts), without which the cashier refuses the post.
 */
export function renderCashierPage(order: CashierOrder, actionBase: string, formToken: string): string {
  const action = escapeHtml(actionBase);
  const token = `<input type="hidden" name="${CASHIER_FORM_TOKEN_FIELD}" value="${escapeHtml(formToken)}">`;
  return page(
    order.channel,
    'Pay',
    `<h1>Confirm payment</h1>
${details(order)}
<div class="actions">
  <form method="post" action="${action}/pay">${token}<button type="submit" class="pay" data-testid="pay">Pay</button></form>
  <form method="post" action="${action}/decline">${token}<button type="submit" class="decline" data-testid="decline">Decline</button></form>
</div>`,
  );
}

/** A page that ends the visit: the payment's result, or why the order cannot be paid. */
export function renderCashierNotice(
  channel: PaymentChannel,
  notice: { title: string; message: string; tone: 'ok' | 'bad' | 'neutral' },
  order?: CashierOrder,
): string {
  const tone = notice.tone === 'neutral' ? '' : ` ${notice.tone}`;
  return page(
    channel,
    notice.title,
    `<h1 data-testid="result">${escapeHtml(notice.title)}</h1>
${order ? details(order) : ''}
<p class="notice${tone}" data-testid="message">${escapeHtml(notice.message)}</p>`,
  );
}
