import { formatInstant, type Receipt, type ReceiptAmount, type ReceiptDiscount } from './receipt.js';
import { channelLabel, HTML_LANG, kindLabel, RECEIPT_TEXT, type ReceiptLanguage } from './text.js';

/** Where the receipt's pages, assets and the public voucher routes it reads are served. */
export const RECEIPTS_BASE = '/receipts';

/** Escapes text for HTML content and double-quoted attribute values. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** "CNY 199.00"; a discount as "−CNY 20.00". */
export function moneyText(amount: ReceiptAmount, negative = false): string {
  return `${negative ? '−' : ''}${amount.currency} ${amount.major}`;
}

/** A discount's words: "SPRING20 · Spring sale", or the description alone. */
export function discountLabel(discount: ReceiptDiscount): string {
  return discount.code ? `${discount.code} · ${discount.description}` : discount.description;
}

function time(iso: string): string {
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(formatInstant(iso))}</time>`;
}

function discountRows(discounts: readonly ReceiptDiscount[], testId: string): string {
  return discounts
    .map(
      (d) =>
        `<li class="discount" data-testid="${testId}"><span>${escapeHtml(discountLabel(d))}</span><span class="money">${moneyText(d.amount, true)}</span></li>`,
    )
    .join('');
}

/**
 * The receipt as a server-rendered page: everything a learner reads is in the HTML (it prints and
 * reads without scripts); the page's own script only checks the signature and offers printing.
 * What the script needs (the voucher id, its key id and digest, the facts it compares with the
 * signed payload, the words) rides in a `data-` attribute: no inline script, so the
 * Content-Security-Policy can forbid them.
 */
export function receiptPage(options: { receipt: Receipt; lang: ReceiptLanguage; qrSvg: string }): string {
  const { receipt, lang, qrSvg } = options;
  const text = RECEIPT_TEXT[lang];
  const other: ReceiptLanguage = lang === 'en' ? 'zh' : 'en';
  const self = `${RECEIPTS_BASE}/${receipt.voucherId}`;
  const isVoid = receipt.status.state === 'void';
  const settings = {
    lang,
    voucherId: receipt.voucherId,
    keyId: receipt.keyId,
    digest: receipt.digest,
    orderId: receipt.orderId,
    amount: receipt.total.minor,
    currency: receipt.total.currency,
    voucherUrl: `/v1/vouchers/${receipt.voucherId}`,
    keysUrl: '/v1/vouchers/keys',
    text: {
      pending: text.verifyPending,
      ok: text.verifyOk,
      failed: text.verifyFailed,
      unsupported: text.verifyUnsupported,
      failures: text.failures,
    },
  };
  const lines = receipt.lines
    .map(
      (line) => `<li class="line" data-testid="line">
<div class="line-main"><span class="title">${escapeHtml(line.title)}</span><span class="kind">${escapeHtml(kindLabel(lang, line.kind))}</span></div>
<div class="line-figures"><span class="qty">${line.quantity} × ${moneyText(line.unitPrice)}</span><span class="money">${moneyText(line.gross)}</span></div>
${line.discounts.length > 0 ? `<ul class="discounts" aria-label="${text.lineDiscount}">${discountRows(line.discounts, 'line-discount')}</ul>` : ''}
</li>`,
    )
    .join('\n');
  const fx = receipt.fx;
  return `<!doctype html>
<html lang="${HTML_LANG[lang]}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(`${text.title} · ${receipt.merchant} · ${receipt.orderId}`)}</title>
<link rel="stylesheet" href="${RECEIPTS_BASE}/assets/receipt.css">
<link rel="icon" href="data:,">
</head>
<body data-settings="${escapeHtml(JSON.stringify(settings))}">
<main class="receipt${isVoid ? ' void' : ''}">
<header class="top">
<p class="merchant" data-testid="merchant">${escapeHtml(receipt.merchant)}</p>
<nav class="actions">
<a data-testid="lang-switch" href="${self}?lang=${other}" hreflang="${HTML_LANG[other]}" lang="${HTML_LANG[other]}">${RECEIPT_TEXT[lang].switchTo}</a>
<a data-testid="pdf-link" href="${self}.pdf?lang=${lang}">${text.pdf}</a>
<button type="button" data-testid="print" hidden>${text.print}</button>
</nav>
</header>
<h1>${text.title}</h1>
${
  receipt.status.state === 'void'
    ? `<section class="void-banner" role="alert" data-testid="void-banner"><h2>${text.voidHeading}</h2><p>${text.voidBody}</p>${
        receipt.status.voidedAt ? `<p>${text.voidedAt}: ${time(receipt.status.voidedAt)}</p>` : ''
      }</section>`
    : ''
}
<dl class="facts">
<div><dt>${text.orderId}</dt><dd data-testid="order-id">${escapeHtml(receipt.orderId)}</dd></div>
<div><dt>${text.paidAt}</dt><dd>${time(receipt.paidAt)}</dd></div>
<div><dt>${text.channel}</dt><dd data-testid="channel">${escapeHtml(channelLabel(lang, receipt.channel))}</dd></div>
<div class="wide"><dt>${text.voucherId}</dt><dd class="id">${escapeHtml(receipt.voucherId)}</dd></div>
</dl>
<section aria-labelledby="items-heading">
<h2 id="items-heading" class="visually-hidden">${text.item}</h2>
<ul class="lines">
${lines}
</ul>
</section>
<section class="totals" aria-label="${text.total}">
<dl>
<div><dt>${text.subtotal}</dt><dd class="money">${moneyText(receipt.subtotal)}</dd></div>
</dl>
${
  receipt.orderDiscounts.length > 0
    ? `<h3>${text.orderDiscounts}</h3><ul class="discounts">${discountRows(receipt.orderDiscounts, 'order-discount')}</ul>`
    : ''
}
${receipt.discountTotal.minor > 0 ? `<dl><div><dt>${text.discountTotal}</dt><dd class="money">${moneyText(receipt.discountTotal, true)}</dd></div></dl>` : ''}
<p class="total"><span>${text.total}</span><strong class="money" data-testid="total">${moneyText(receipt.total)}</strong></p>
</section>
${
  fx
    ? `<section class="fx" aria-labelledby="fx-heading" data-testid="fx">
<h2 id="fx-heading">${text.fxHeading}</h2>
<dl>
<div><dt>${text.fxRate}</dt><dd>1 ${fx.presentment.currency} = ${escapeHtml(fx.rate)} ${fx.settlement.currency}</dd></div>
<div><dt>${text.fxSettlement}</dt><dd class="money" data-testid="fx-settlement">${moneyText(fx.settlement)}</dd></div>
<div><dt>${text.fxQuotedAt}</dt><dd>${time(fx.quotedAt)}</dd></div>
<div><dt>${text.fxSource}</dt><dd>${escapeHtml(fx.source)}</dd></div>
</dl>
</section>`
    : ''
}
<section id="verify" class="verify" aria-labelledby="verify-heading" tabindex="-1">
<h2 id="verify-heading">${text.verifyHeading}</h2>
<div class="verify-body">
<div>
<p>${text.verifyLead}</p>
<p class="verify-status" role="status" aria-live="polite" data-testid="verify-status" data-state="pending">${text.verifyNoScript}</p>
<dl class="proof">
<div><dt>${text.keyId}</dt><dd class="id" data-testid="key-id">${escapeHtml(receipt.keyId)}</dd></div>
<div><dt>${text.digest}</dt><dd class="id digest">${escapeHtml(receipt.digest)}</dd></div>
</dl>
</div>
<figure class="qr" data-testid="qr">
<div role="img" aria-label="${text.qrCaption}">${qrSvg}</div>
<figcaption>${text.qrCaption}</figcaption>
</figure>
</div>
</section>
</main>
<script src="${RECEIPTS_BASE}/assets/receipt.js"></script>
</body></html>
`;
}
