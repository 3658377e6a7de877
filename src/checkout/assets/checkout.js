/* global document, fetch, setTimeout, clearTimeout, setInterval, EventSource */
/*
 * The hosted checkout's page script. The server renders the order; this script shows what changes
 * while the learner looks: the methods that can take the payment (the current one first), how to
 * pay with the current one (a QR code to scan, or a button to the channel's page), the countdown
 * to the end of the payment window, a declined try, and the result. It follows the payment by the
 * page's server-sent events (`events`), falling back to polling `state` with a growing delay; a
 * choice of method is posted to `method`. Every request carries the link's `e` and `t`.
 * Everything is built with DOM calls and `textContent`: nothing from the server is parsed as HTML.
 */
'use strict';

(() => {
  const settings = JSON.parse(document.body.dataset.settings || '{}');
  const { base, query, text, exponents } = settings;
  const root = document.getElementById('checkout');
  const FINAL = new Set(['succeeded', 'partially_refunded', 'refunded', 'failed', 'expired', 'canceled']);

  let state = settings.state;
  /** Server clock minus this browser's, so the countdown ends when the server says. */
  let skewMs = 0;
  let selected = null;
  let busy = false;
  let notice = null;

  const url = (path, extra = '') => `${base}${path}?${query}${extra}`;
  const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? '');
  const methodName = (channel) => text.channels[channel] || channel;

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'text') node.textContent = String(value);
      else if (key === 'className') node.className = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat(Infinity)) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  /** Minor units as `CNY 199.00`, with the currency's exponent from the server (domain/money.ts). */
  function money(minor, currency) {
    const exponent = exponents[currency] ?? 2;
    if (exponent === 0) return `${currency} ${minor}`;
    const digits = String(minor).padStart(exponent + 1, '0');
    return `${currency} ${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  }

  function secondsLeft() {
    return Math.max(0, Math.floor((Date.parse(state.expiresAt) - (Date.now() + skewMs)) / 1000));
  }

  function clock(seconds) {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    const mm = String(m).padStart(h > 0 ? 2 : 1, '0');
    return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
  }

  /** Whether the learner can still pay here: awaiting payment, and the window open. */
  function payable() {
    return state.status === 'awaiting_payment' && state.phase === 'payable' && secondsLeft() > 0;
  }

  function lastAttempt() {
    return state.attempts.length > 0 ? state.attempts[state.attempts.length - 1] : null;
  }

  function backLink() {
    if (!state.returnUrl) return null;
    return el('a', {
      className: 'button secondary',
      href: state.returnUrl,
      'data-testid': 'return-link',
      text: fill(text.back, { merchant: state.merchantName }),
    });
  }

  function resultView() {
    const paid = state.status === 'succeeded' || state.status === 'partially_refunded';
    if (paid || state.status === 'refunded') {
      return el(
        'section',
        { className: 'result good', 'data-testid': 'result-succeeded' },
        el('h2', { className: 'result-title', text: text.succeeded }),
        el('p', {
          text: fill(text.paidWith, {
            amount: money(state.amount, state.currency),
            method: methodName(state.channel),
          }),
        }),
        state.status === 'refunded' ? el('p', { text: text.refunded }) : null,
        el(
          'div',
          { className: 'actions' },
          state.voucherId
            ? el('a', {
                className: 'button primary',
                href: `/receipts/${encodeURIComponent(state.voucherId)}`,
                'data-testid': 'receipt-link',
                text: text.receipt,
              })
            : null,
          backLink(),
        ),
      );
    }
    const [title, body, kind] =
      state.status === 'canceled'
        ? [text.canceled, text.canceledText, 'canceled']
        : state.status === 'failed'
          ? [text.failed, text.failedText, 'failed']
          : state.status === 'expired' || state.status === 'awaiting_payment'
            ? [text.expired, text.expiredText, 'expired']
            : [text.confirming, text.confirmingText, 'confirming'];
    return el(
      'section',
      { className: `result ${kind === 'confirming' ? 'wait' : 'bad'}`, 'data-testid': `result-${kind}` },
      el('h2', { className: 'result-title', text: title }),
      el('p', { text: body }),
      kind === 'confirming' ? null : el('div', { className: 'actions' }, backLink()),
    );
  }

  function declineNotice() {
    const last = lastAttempt();
    if (!last || last.outcome !== 'declined') return null;
    const words =
      last.channel === 'card' ? text.declinedCard : fill(text.declined, { method: methodName(last.channel) });
    return el('p', { className: 'notice bad', role: 'alert', 'data-testid': 'declined', text: words });
  }

  function payStep() {
    const pay = state.pay;
    if (!pay || busy) return null;
    const name = methodName(pay.channel);
    if (pay.kind === 'qr') {
      const app = text.apps[pay.channel] || name;
      return el(
        'div',
        { className: 'pay-step qr', 'data-testid': 'pay-qr' },
        el('img', {
          src: url('/qr.svg', `&channel=${encodeURIComponent(pay.channel)}`),
          width: 220,
          height: 220,
          alt: fill(text.scanWith, { app }),
          'data-testid': 'qr',
          'data-channel': pay.channel,
        }),
        el('p', { className: 'scan', text: fill(text.scanWith, { app }) }),
        // Alipay's code opens the app from a phone's browser; WeChat's only scans.
        pay.channel === 'alipay'
          ? el('a', {
              className: 'button secondary',
              href: pay.url,
              rel: 'noopener noreferrer',
              'data-testid': 'open-app',
              text: fill(text.openApp, { app }),
            })
          : null,
      );
    }
    return el(
      'div',
      { className: 'pay-step page', 'data-testid': 'pay-page' },
      el('a', {
        className: 'button primary',
        href: pay.url,
        target: '_blank',
        rel: 'noopener noreferrer',
        'data-testid': 'to-channel',
        'data-channel': pay.channel,
        text: fill(text.toPage, { method: name }),
      }),
      el('p', { className: 'hint', text: text.pageHint }),
    );
  }

  async function choose(channel) {
    busy = true;
    notice = el('p', {
      className: 'notice',
      'data-testid': 'switching',
      text: fill(text.switching, { method: methodName(channel) }),
    });
    render();
    try {
      const res = await fetch(url('/method'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ channel }),
        credentials: 'omit',
      });
      const body = await res.json();
      if (!res.ok) throw new Error(body?.error?.message || res.statusText);
      notice = null;
      selected = null;
      apply(body);
    } catch {
      notice = el('p', {
        className: 'notice bad',
        role: 'alert',
        'data-testid': 'switch-failed',
        text: fill(text.switchFailed, { method: methodName(channel) }),
      });
      void refresh();
    } finally {
      busy = false;
      render();
    }
  }

  function methodPicker() {
    if (state.methods.length === 0) return null;
    const current = state.methods.find((m) => m.current)?.channel ?? null;
    const chosen = selected ?? current;
    const form = el(
      'form',
      {
        className: 'methods',
        'data-testid': 'methods',
        onsubmit: (event) => {
          event.preventDefault();
          if (chosen && chosen !== current && !busy) void choose(chosen);
        },
      },
      el(
        'fieldset',
        {},
        el('legend', { text: text.methods }),
        state.methods.map((method) =>
          el(
            'label',
            {
              className: `method${method.channel === chosen ? ' chosen' : ''}`,
              'data-testid': `method-${method.channel}`,
            },
            el('input', {
              type: 'radio',
              name: 'method',
              value: method.channel,
              checked: method.channel === chosen,
              disabled: busy,
              onchange: () => {
                selected = method.channel;
                render();
                document.querySelector(`input[name="method"][value="${method.channel}"]`)?.focus();
              },
            }),
            el('span', { className: 'method-name', text: methodName(method.channel) }),
            method.current ? el('span', { className: 'badge', text: text.current }) : null,
          ),
        ),
      ),
      chosen && chosen !== current
        ? el('button', {
            type: 'submit',
            className: 'button primary',
            disabled: busy,
            'data-testid': 'use-method',
            text: fill(text.payWith, { method: methodName(chosen) }),
          })
        : null,
    );
    return form;
  }

  function countdown() {
    return el(
      'p',
      { className: 'countdown', 'data-testid': 'countdown' },
      el('span', { text: `${text.timeLeft} ` }),
      el('time', { id: 'time-left', role: 'timer', 'aria-live': 'off', text: clock(secondsLeft()) }),
    );
  }

  function render() {
    document.body.dataset.status = state.status;
    const view = payable() ? [countdown(), declineNotice(), notice, payStep(), methodPicker()] : [resultView()];
    root.replaceChildren(...view.filter(Boolean));
    document.body.dataset.loaded = 'true';
  }

  function apply(next) {
    const before = JSON.stringify({ ...state, now: null });
    skewMs = Date.parse(next.now) - Date.now();
    state = next;
    if (JSON.stringify({ ...state, now: null }) !== before && !busy) render();
    return before !== JSON.stringify({ ...state, now: null });
  }

  async function refresh() {
    const res = await fetch(url('/state'), { credentials: 'omit', cache: 'no-store' });
    if (!res.ok) throw new Error(String(res.status));
    return apply(await res.json());
  }

  /** Polling, when the event stream is not available: every 2 s, up to 30 s while nothing changes. */
  let pollDelay = 2000;
  let pollTimer = null;
  function poll() {
    clearTimeout(pollTimer);
    if (FINAL.has(state.status)) return;
    pollTimer = setTimeout(async () => {
      try {
        const changed = await refresh();
        pollDelay = changed ? 2000 : Math.min(pollDelay * 2, 30_000);
        document.body.dataset.offline = 'false';
      } catch {
        pollDelay = Math.min(pollDelay * 2, 30_000);
        document.body.dataset.offline = 'true';
      }
      poll();
    }, pollDelay);
  }

  /** Server-sent events while they work; after a fourth failure in a row, polling with backoff. */
  let streamFailures = 0;
  function follow() {
    if (typeof EventSource !== 'function') {
      poll();
      return;
    }
    const stream = new EventSource(url('/events'));
    document.body.dataset.following = 'events';
    stream.addEventListener('state', (event) => {
      streamFailures = 0;
      apply(JSON.parse(event.data));
      if (FINAL.has(state.status)) stream.close();
    });
    stream.onerror = () => {
      stream.close();
      if (FINAL.has(state.status)) return;
      streamFailures += 1;
      if (streamFailures > 3) {
        document.body.dataset.following = 'polling';
        poll();
        return;
      }
      setTimeout(follow, 1000 * 2 ** streamFailures);
    };
  }

  // The countdown ticks every second; at zero the page asks for the state once (the server says
  // whether the payment was made in the last moment).
  let wasPayable = payable();
  setInterval(() => {
    const time = document.getElementById('time-left');
    if (time) time.textContent = clock(secondsLeft());
    const now = payable();
    if (wasPayable && !now) {
      render();
      void refresh().catch(() => undefined);
    }
    wasPayable = now;
  }, 1000);

  skewMs = Date.parse(state.now) - Date.now();
  render();
  if (!FINAL.has(state.status)) follow();
})();
