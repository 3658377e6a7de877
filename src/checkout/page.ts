import { CURRENCY_EXPONENTS, formatMajor, type Currency } from '../../domain/money.js';
import type { Discount, ItemKind, PaymentChannel } from '../../domain/payment.js';
import type { DashboardLanguage } from '../dashboard/page.js';
import type { CheckoutView } from '../payments/checkout.js';
import type { CheckoutLinkState } from './link.js';

/** The checkout speaks the dashboard's languages, chosen the same way (Accept-Language, or `?lang=`). */
export type CheckoutLanguage = DashboardLanguage;

/** What the page's script reads and shows: `phase` from the link, `now` the server's clock. */
export type CheckoutState = CheckoutView & { phase: Exclude<CheckoutLinkState, 'invalid' | 'gone'>; now: string };

const HTML_LANG: Record<CheckoutLanguage, string> = { en: 'en', zh: 'zh-CN' };

/**
 * Every word of the checkout, in each language: the server renders the order with them, and the
 * page's script gets its own share (`script`) for what changes while the learner looks.
 */
export const CHECKOUT_TEXT = {
  en: {
    title: 'Checkout',
    switchTo: '中文',
    order: 'Order',
    items: 'What you are buying',
    quantity: 'Qty',
    orderDiscounts: 'Order discounts',
    orderShare: 'Share of the order discounts',
    total: 'Total',
    saved: 'You save',
    settlement: 'The merchant receives',
    rate: 'locked for this payment',
    noscript: 'This page needs JavaScript to take the payment. Please turn it on, or pay with another browser.',
    notFoundTitle: 'This payment link is not valid',
    notFound: 'Check that you opened the whole link from the shop, or go back to the shop and start the payment again.',
    goneTitle: 'This payment link has expired',
    gone: 'Payment links last a week after their payment window. Go back to the shop to see your order.',
    kinds: {
      lesson: 'Lesson',
      course: 'Course',
      bundle: 'Bundle',
      membership: 'Membership',
      consultation: 'Consultation',
    } satisfies Record<ItemKind, string>,
    script: {
      methods: 'How would you like to pay?',
      current: 'current',
      payWith: 'Pay with {method}',
      switching: 'Opening {method}…',
      switchFailed: '{method} cannot take this payment now. Choose another method.',
      scanWith: 'Scan with {app} to pay',
      openApp: 'Open {app}',
      toPage: 'Continue to {method}',
      pageHint: 'The payment page opens in a new tab. Come back here: this page follows the payment.',
      timeLeft: 'Time left to pay',
      timeUp: 'The time to pay has ended.',
      declinedCard: 'Your card was declined, and nothing was charged. Try again or choose another method.',
      declined: 'Your {method} payment was declined, and nothing was charged. Try again or choose another method.',
      succeeded: 'Payment successful',
      paidWith: 'You paid {amount} with {method}.',
      receipt: 'View your receipt',
      refunded: 'This payment was refunded.',
      expired: 'The time to pay has ended',
      expiredText: 'Nothing was charged. Go back to the shop to start again.',
      canceled: 'This payment was canceled',
      canceledText: 'Nothing was charged.',
      failed: 'This payment could not be taken',
      failedText: 'Nothing was charged. Go back to the shop and try again.',
      confirming: 'Confirming your payment…',
      confirmingText: 'This takes a moment. You can keep this page open.',
      back: 'Back to {merchant}',
      offline: 'Connection lost; trying again…',
      channels: {
        alipay: 'Alipay',
        wechatpay: 'WeChat Pay',
        unionpay: 'UnionPay',
        card: 'Card',
        paypal: 'PayPal',
      } satisfies Record<PaymentChannel, string>,
      apps: { alipay: 'Alipay', wechatpay: 'WeChat' } as Record<string, string>,
    },
  },
  zh: {
    title: '收银台',
    switchTo: 'English',
    order: '订单号',
    items: '购买内容',
    quantity: '数量',
    orderDiscounts: '订单优惠',
    orderShare: '分摊的订单优惠',
    total: '合计',
    saved: '共优惠',
    settlement: '商户结算金额',
    rate: '本单锁定汇率',
    noscript: '本页需要启用 JavaScript 才能付款。请启用后重试，或换一个浏览器。',
    notFoundTitle: '付款链接无效',
    notFound: '请确认打开的是商户提供的完整链接，或回到商户页面重新发起付款。',
    goneTitle: '付款链接已失效',
    gone: '付款链接在付款期限结束一周后失效。请回到商户页面查看订单。',
    kinds: {
      lesson: '单节课',
      course: '课程',
      bundle: '课程套餐',
      membership: '会员',
      consultation: '咨询',
    } satisfies Record<ItemKind, string>,
    script: {
      methods: '选择付款方式',
      current: '当前',
      payWith: '使用{method}付款',
      switching: '正在打开{method}…',
      switchFailed: '{method}暂时无法完成这笔付款，请选择其他方式。',
      scanWith: '请用{app}扫码付款',
      openApp: '打开{app}',
      toPage: '前往{method}付款',
      pageHint: '付款页面会在新标签页打开。付款后回到本页即可，本页会自动更新。',
      timeLeft: '剩余付款时间',
      timeUp: '付款时间已结束。',
      declinedCard: '您的银行卡被拒绝，未扣款。请重试或选择其他付款方式。',
      declined: '{method}付款被拒绝，未扣款。请重试或选择其他付款方式。',
      succeeded: '付款成功',
      paidWith: '您已使用{method}支付 {amount}。',
      receipt: '查看收据',
      refunded: '这笔付款已退款。',
      expired: '付款时间已结束',
      expiredText: '未扣款。请回到商户页面重新下单。',
      canceled: '这笔付款已取消',
      canceledText: '未扣款。',
      failed: '这笔付款未能完成',
      failedText: '未扣款。请回到商户页面重试。',
      confirming: '正在确认付款…',
      confirmingText: '请稍候，可保持本页打开。',
      back: '返回{merchant}',
      offline: '连接中断，正在重试…',
      channels: {
        alipay: '支付宝',
        wechatpay: '微信支付',
        unionpay: '银联',
        card: '银行卡',
        paypal: 'PayPal',
      } satisfies Record<PaymentChannel, string>,
      apps: { alipay: '支付宝', wechatpay: '微信' } as Record<string, string>,
    },
  },
} as const;

/** Escapes text for HTML content and double-quoted attribute values. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function money(amount: number, currency: Currency): string {
  return `${currency} ${formatMajor(amount, currency)}`;
}

function head(lang: CheckoutLanguage, title: string, assets: string): string {
  return `<!doctype html>
<html lang="${HTML_LANG[lang]}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${assets}/checkout.css">
</head>`;
}

/** A page that says only what happened to the link: not valid (404), or expired (410). */
export function checkoutMissingPage(options: { lang: CheckoutLanguage; assets: string; why: 'invalid' | 'gone' }) {
  const text = CHECKOUT_TEXT[options.lang];
  const [title, body] = options.why === 'gone' ? [text.goneTitle, text.gone] : [text.notFoundTitle, text.notFound];
  return `${head(options.lang, title, options.assets)}
<body>
<main class="card missing" data-testid="checkout-missing">
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(body)}</p>
</main>
</body></html>
`;
}

function discountLabel(discount: Discount): string {
  const code = discount.code ? ` <code>${escapeHtml(discount.code)}</code>` : '';
  return `<span class="discount-label">${escapeHtml(discount.description)}${code}</span>`;
}

function itemRows(view: CheckoutView, lang: CheckoutLanguage): string {
  const text = CHECKOUT_TEXT[lang];
  const orderDiscounted = view.discounts.length > 0;
  return view.items
    .map((item) => {
      const discounts = item.discounts
        .map((d) => `<li class="discount">${discountLabel(d)}<span>−${money(d.amount, view.currency)}</span></li>`)
        .join('');
      const share =
        orderDiscounted && item.paidAmount !== item.lineAmount
          ? `<li class="share">${escapeHtml(text.orderShare)}<span>−${money(item.lineAmount - item.paidAmount, view.currency)}</span></li>`
          : '';
      return `<li class="item" data-testid="item">
<div class="item-head"><span class="kind kind-${item.kind}">${escapeHtml(text.kinds[item.kind])}</span><span class="title">${escapeHtml(item.title)}</span><span class="amount">${money(item.paidAmount, view.currency)}</span></div>
<div class="item-price">${escapeHtml(text.quantity)} ${item.quantity} × ${money(item.unitAmount, view.currency)}</div>
${discounts || share ? `<ul class="item-discounts">${discounts}${share}</ul>` : ''}
</li>`;
    })
    .join('\n');
}

/**
 * The checkout page: the order (merchant, order id, items with their discounts, order discounts,
 * the total and the settlement amount) rendered here, and an area the script fills and keeps
 * current from the state it gets in `data-settings` and then from `state` and `events` (methods,
 * QR code or the channel's page, countdown, result). No inline script, so the
 * Content-Security-Policy can forbid them; no third-party script or font.
 */
export function checkoutPage(options: {
  lang: CheckoutLanguage;
  /** The page's own path with the link's query (`/checkout/<id>?e=..&t=..`), for the switch. */
  self: string;
  /** Where the assets are (`/checkout/assets`). */
  assets: string;
  /** The link's query (`e=..&t=..`), which every request of the script carries. */
  query: string;
  /** The path of the page's endpoints (`/checkout/<id>`). */
  base: string;
  state: CheckoutState;
}): string {
  const { lang, state } = options;
  const text = CHECKOUT_TEXT[lang];
  const other: CheckoutLanguage = lang === 'en' ? 'zh' : 'en';
  const switchHref = `${options.self}&lang=${other}`;
  const currencies = new Set<Currency>([state.currency, ...(state.fx ? [state.fx.settlementCurrency] : [])]);
  const settings = {
    lang,
    base: options.base,
    query: options.query,
    text: text.script,
    exponents: Object.fromEntries([...currencies].map((c) => [c, CURRENCY_EXPONENTS[c]])),
    state,
  };
  const orderDiscounts = state.discounts
    .map((d) => `<li class="discount">${discountLabel(d)}<span>−${money(d.amount, state.currency)}</span></li>`)
    .join('');
  const fx = state.fx
    ? `<p class="settlement" data-testid="settlement">${escapeHtml(text.settlement)} ${money(state.fx.settlementAmount, state.fx.settlementCurrency)} <span class="rate">(1 ${escapeHtml(state.currency)} = ${escapeHtml(state.fx.rate)} ${escapeHtml(state.fx.settlementCurrency)}, ${escapeHtml(text.rate)})</span></p>`
    : '';
  return `${head(lang, `${text.title} · ${state.merchantName}`, options.assets)}
<body data-settings="${escapeHtml(JSON.stringify(settings))}">
<header class="top">
<p class="merchant" data-testid="merchant">${escapeHtml(state.merchantName)}</p>
<a class="lang-switch" data-testid="lang-switch" href="${escapeHtml(switchHref)}" hreflang="${HTML_LANG[other]}" lang="${HTML_LANG[other]}">${text.switchTo}</a>
</header>
<main class="card">
<section class="summary" aria-labelledby="total-heading">
<p class="order">${escapeHtml(text.order)} <span data-testid="order-id">${escapeHtml(state.orderId)}</span></p>
<h1 id="total-heading"><span class="label">${escapeHtml(text.total)}</span> <span class="total" data-testid="total">${money(state.amount, state.currency)}</span></h1>
${state.totalDiscount > 0 ? `<p class="saved" data-testid="saved">${escapeHtml(text.saved)} ${money(state.totalDiscount, state.currency)}</p>` : ''}
${fx}
</section>
<div id="checkout" aria-live="polite"></div>
<noscript><p class="notice">${escapeHtml(text.noscript)}</p></noscript>
<section class="items" aria-labelledby="items-heading">
<h2 id="items-heading">${escapeHtml(text.items)}</h2>
<ul class="item-list">
${itemRows(state, lang)}
</ul>
${orderDiscounts ? `<h3>${escapeHtml(text.orderDiscounts)}</h3><ul class="order-discounts" data-testid="order-discounts">${orderDiscounts}</ul>` : ''}
<p class="items-total"><span>${escapeHtml(text.total)}</span><span>${money(state.amount, state.currency)}</span></p>
</section>
</main>
<script src="${options.assets}/checkout.js"></script>
</body></html>
`;
}
