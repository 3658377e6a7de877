/* global document, window, location, fetch, crypto, TextEncoder, atob */
/*
 * The receipt page's script. It checks the receipt in the learner's own browser: it reads the
 * voucher (/v1/vouchers/:id) and the published voucher keys (/v1/vouchers/keys, a JWKS), computes
 * the SHA-256 of the payload's UTF-8 bytes, verifies the Ed25519 signature over the same bytes with
 * WebCrypto, and checks that the signed payload names this receipt's voucher, order and total.
 * Besides that it shows times in the learner's time zone and offers printing. Everything it writes
 * goes through `textContent`.
 */
'use strict';

(() => {
  const settings = JSON.parse(document.body.dataset.settings || '{}');
  const text = settings.text;
  const status = document.querySelector('[data-testid="verify-status"]');

  const show = (state, message) => {
    status.dataset.state = state;
    status.textContent = message;
  };
  const fail = (reason) => show('failed', `${text.failed} ${text.failures[reason]}`);

  const print = document.querySelector('[data-testid="print"]');
  print.hidden = false;
  print.addEventListener('click', () => window.print());

  const local = new Intl.DateTimeFormat(settings.lang === 'zh' ? 'zh-CN' : 'en-GB', {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  });
  for (const element of document.querySelectorAll('time[datetime]')) {
    const at = new Date(element.dateTime);
    if (Number.isNaN(at.getTime())) continue;
    element.title = element.textContent;
    element.textContent = local.format(at);
  }

  const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
  const base64Bytes = (text64) => Uint8Array.from(atob(text64), (c) => c.charCodeAt(0));

  async function readJson(url) {
    const response = await fetch(url, { headers: { accept: 'application/json' }, credentials: 'omit' });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return response.json();
  }

  async function verify() {
    // WebCrypto is there only in secure contexts (https, or this machine's own address).
    if (!window.crypto || !window.crypto.subtle) return show('unsupported', text.unsupported);
    show('pending', text.pending);
    let voucher;
    let jwks;
    try {
      [voucher, jwks] = await Promise.all([readJson(settings.voucherUrl), readJson(settings.keysUrl)]);
    } catch {
      return fail('fetch');
    }
    if (typeof voucher.payload !== 'string' || typeof voucher.signature !== 'string') return fail('fetch');
    const bytes = new TextEncoder().encode(voucher.payload);
    const digest = hex(await crypto.subtle.digest('SHA-256', bytes));
    if (digest !== voucher.digest || digest !== settings.digest) return fail('digest');
    const jwk = (Array.isArray(jwks.keys) ? jwks.keys : []).find((k) => k.kid === voucher.keyId);
    if (!jwk) return fail('unknownKey');
    let key;
    try {
      key = await crypto.subtle.importKey('jwk', jwk, { name: 'Ed25519' }, false, ['verify']);
    } catch (error) {
      if (error && error.name === 'NotSupportedError') return show('unsupported', text.unsupported);
      return fail('key');
    }
    let signature;
    try {
      signature = base64Bytes(voucher.signature);
    } catch {
      return fail('signature');
    }
    if (!(await crypto.subtle.verify({ name: 'Ed25519' }, key, signature, bytes))) return fail('signature');
    let facts;
    try {
      facts = JSON.parse(voucher.payload);
    } catch {
      return fail('mismatch');
    }
    const same =
      facts.voucherId === settings.voucherId &&
      facts.orderId === settings.orderId &&
      facts.amount === settings.amount &&
      facts.currency === settings.currency;
    if (!same) return fail('mismatch');
    show('verified', `${text.ok} ${voucher.keyId}`);
  }

  if (location.hash === '#verify') document.getElementById('verify').focus();
  verify().catch(() => fail('signature'));
})();
