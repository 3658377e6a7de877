/* global Chart, Node, document, window, fetch, setTimeout, clearTimeout, setInterval */
/*
 * The staff dashboard's page script. It reads the staff API (/staff/v1) with the session cookie
 * the sign-in set, draws the charts with Chart.js (served by the API too), and sends the actions
 * the signed-in role may take; the API checks every permission again and audits every action.
 * Everything on the page is built with DOM calls and `textContent`: nothing from the API is ever
 * parsed as HTML. Amounts arrive as integer minor units and are formatted with each currency's
 * exponent from the server (domain/money.ts), never summed across currencies.
 */
'use strict';

(() => {
  const settings = JSON.parse(document.body.dataset.settings || '{}');
  const { base, staff, permissions, exponents } = settings;
  const lang = settings.lang === 'zh' ? 'zh' : 'en';
  const DAYS = 14;

  const TEXT = {
    en: {
      title: 'Staff dashboard',
      signedInAs: 'Signed in as',
      signOut: 'Sign out',
      switchTo: '中文',
      updated: 'Updated',
      range: 'Last 14 days',
      needsAttention: 'Payments and refunds needing attention',
      totals: 'Totals per currency',
      noPayments: 'No payments in these days yet.',
      created: 'Created',
      succeeded: 'Succeeded',
      successRate: 'Success rate',
      captured: 'Captured',
      refunded: 'Refunded',
      refunds: 'Refunds',
      refundRate: 'Refund rate',
      timeToPaid: 'Time to paid (p50 / p95)',
      perDay: 'Payments per day',
      perChannel: 'Payments per channel',
      refundsPerDay: 'Refunds per day',
      channelHealth: 'Channel health',
      channel: 'Channel',
      state: 'State',
      errorRate: 'Error rate',
      p95: 'p95 latency',
      calls: 'Calls',
      attentionList: 'Payments that need attention',
      payment: 'Payment',
      order: 'Order',
      status: 'Status',
      amount: 'Amount',
      actions: 'Actions',
      reason: 'Reason (audited)',
      requery: 'Ask the channel',
      refundsReview: 'Refunds waiting for review',
      refund: 'Refund',
      requestedBy: 'Requested by',
      why: 'Why review',
      approve: 'Approve',
      reject: 'Reject',
      ownRequest: 'You requested this refund: another person decides it.',
      exceptions: 'Reconciliation exceptions',
      date: 'Date',
      kind: 'Kind',
      here: 'Here',
      atChannel: 'At the channel',
      resolve: 'Resolve',
      none: 'Nothing here.',
      noRight: 'Your role cannot do this.',
      done: 'Done.',
      failed: 'Refused',
      platform: 'platform',
      loadFailed: 'Could not load the data; retrying.',
    },
    zh: {
      title: '员工看板',
      signedInAs: '当前登录',
      signOut: '退出登录',
      switchTo: 'English',
      updated: '更新于',
      range: '最近 14 天',
      needsAttention: '需要处理的支付和退款',
      totals: '各币种合计',
      noPayments: '这些天里还没有支付。',
      created: '创建',
      succeeded: '成功',
      successRate: '成功率',
      captured: '收款',
      refunded: '已退款',
      refunds: '退款笔数',
      refundRate: '退款率',
      timeToPaid: '支付用时（p50 / p95）',
      perDay: '每日支付',
      perChannel: '各渠道支付',
      refundsPerDay: '每日退款',
      channelHealth: '渠道健康',
      channel: '渠道',
      state: '状态',
      errorRate: '错误率',
      p95: 'p95 延迟',
      calls: '调用',
      attentionList: '需要处理的支付',
      payment: '支付',
      order: '订单',
      status: '状态',
      amount: '金额',
      actions: '操作',
      reason: '原因（记入审计）',
      requery: '向渠道查询',
      refundsReview: '待审核退款',
      refund: '退款',
      requestedBy: '申请人',
      why: '审核原因',
      approve: '批准',
      reject: '拒绝',
      ownRequest: '这笔退款是您申请的，需由他人审核。',
      exceptions: '对账差异',
      date: '日期',
      kind: '类型',
      here: '本系统',
      atChannel: '渠道账单',
      resolve: '处理',
      none: '暂无。',
      noRight: '您的角色无权进行此操作。',
      done: '已完成。',
      failed: '被拒绝',
      platform: '平台',
      loadFailed: '数据加载失败，正在重试。',
    },
  };
  const NAMES = {
    en: {
      alipay: 'Alipay',
      wechatpay: 'WeChat Pay',
      unionpay: 'UnionPay',
      card: 'Cards',
      paypal: 'PayPal',
      none: 'Not opened',
      healthy: 'healthy',
      degraded: 'degraded',
      open: 'open (skipped)',
      missing_here: 'Missing here',
      missing_at_channel: 'Missing at the channel',
      amount_mismatch: 'Amount differs',
      status_mismatch: 'Status differs',
      currency_mismatch: 'Currency differs',
      adopt: 'Adopt the payment',
      refund: 'Open a refund',
      explain: 'Mark explained',
    },
    zh: {
      alipay: '支付宝',
      wechatpay: '微信支付',
      unionpay: '银联',
      card: '银行卡',
      paypal: 'PayPal',
      none: '未开单',
      healthy: '健康',
      degraded: '降级',
      open: '熔断（跳过）',
      missing_here: '本系统缺失',
      missing_at_channel: '渠道缺失',
      amount_mismatch: '金额不符',
      status_mismatch: '状态不符',
      currency_mismatch: '币种不符',
      adopt: '补记该支付',
      refund: '发起退款',
      explain: '标记为已说明',
      created: '已创建',
      processing: '处理中',
      awaiting_payment: '待支付',
      pending_review: '待审核',
      risk_review: '风控审核',
      succeeded: '成功',
      failed: '失败',
      expired: '已过期',
      canceled: '已取消',
      refunded: '已退款',
      partially_refunded: '部分退款',
    },
  };
  const t = (key) => TEXT[lang][key] ?? TEXT.en[key] ?? key;
  const name = (key) => NAMES[lang][key] ?? NAMES.en[key] ?? String(key);
  const can = (permission) => permissions.includes(permission);

  // --- Formatting ---------------------------------------------------------------------------

  /** Minor units as a grouped decimal in the currency's exponent: (123456, 'CNY') -> "1,234.56". */
  function money(minor, currency) {
    const exponent = exponents[currency] ?? 2;
    const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
    const whole = digits.slice(0, digits.length - exponent).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    const fraction = exponent > 0 ? `.${digits.slice(digits.length - exponent)}` : '';
    return `${minor < 0 ? '-' : ''}${whole}${fraction}`;
  }
  const amountOf = (minor, currency) => `${money(minor, currency)} ${currency}`;
  const percent = (rate) => (rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`);
  const duration = (ms) =>
    ms === null || ms === undefined
      ? '—'
      : ms < 60_000
        ? `${(ms / 1000).toFixed(1)} s`
        : `${(ms / 60_000).toFixed(1)} min`;

  /** The last `DAYS` days, as the statistics count them (in their UTC offset). */
  function statsDays() {
    const today = Date.now() + settings.statsUtcOffsetMinutes * 60_000;
    return Array.from({ length: DAYS }, (_, i) =>
      new Date(today - (DAYS - 1 - i) * 86_400_000).toISOString().slice(0, 10),
    );
  }

  // --- DOM ----------------------------------------------------------------------------------

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

  let toastTimer;
  function toast(message, isError = false) {
    const box = document.getElementById('toast');
    box.textContent = message;
    box.className = `toast${isError ? ' error' : ''}`;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => box.classList.add('hidden'), 6000);
  }

  // --- The staff API ------------------------------------------------------------------------

  /** A staff API call with the session cookie; a 401 (session ended, token revoked) goes back to sign-in. */
  async function api(method, path, body) {
    const response = await fetch(`/staff/v1${path}`, {
      method,
      credentials: 'same-origin',
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status === 401) {
      window.location.assign(base);
      throw new Error('signed out');
    }
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }
  const ok = (answer) => (answer.status >= 200 && answer.status < 300 ? answer.body : null);

  // --- Layout -------------------------------------------------------------------------------

  const section = (id, titleKey, wide, ...children) =>
    el('section', { className: `panel${wide ? ' wide' : ''}`, id, 'aria-labelledby': `${id}-title` }, [
      el('h2', { id: `${id}-title`, text: t(titleKey) }),
      ...children,
    ]);
  const chartBox = (id, titleKey) =>
    el('div', { className: 'chart-box' }, el('canvas', { id, role: 'img', 'aria-label': t(titleKey) }));

  const parts = {
    updated: el('span', { className: 'updated', 'data-testid': 'updated' }),
    attention: el('div', { className: 'attention', 'data-testid': 'needs-attention', text: '—' }),
    totals: el('div', { className: 'cards', 'data-testid': 'totals' }),
    health: el('div', { className: 'table-scroll' }),
    attentionList: el('div', { className: 'table-scroll' }),
    refunds: el('div', { className: 'table-scroll' }),
    exceptions: el('div', { className: 'table-scroll' }),
  };

  function layout() {
    const app = document.getElementById('app');
    app.replaceChildren(
      el('header', { className: 'top' }, [
        el('h1', { text: `Knowledge Pay · ${t('title')}` }),
        el('div', { className: 'who' }, [
          el('span', { 'data-testid': 'who', text: `${t('signedInAs')} ${staff.name} (${staff.role})` }),
          parts.updated,
          el('a', {
            className: 'lang-switch',
            href: `${base}?lang=${lang === 'en' ? 'zh' : 'en'}`,
            'data-testid': 'lang-switch',
            text: t('switchTo'),
          }),
          el('button', { type: 'button', 'data-testid': 'sign-out', onclick: signOut, text: t('signOut') }),
        ]),
      ]),
      el('main', { className: 'content' }, [
        section('overview', 'range', true, [el('p', { className: 'empty', text: t('totals') }), parts.totals]),
        section('perDay', 'perDay', false, chartBox('perDayChart', 'perDay')),
        section('perChannel', 'perChannel', false, chartBox('perChannelChart', 'perChannel')),
        section('refundsDay', 'refundsPerDay', false, chartBox('refundsChart', 'refundsPerDay')),
        section('health', 'channelHealth', false, parts.health),
        section('attention', 'attentionList', true, parts.attentionList),
        section('review', 'refundsReview', true, parts.refunds),
        section('exceptions', 'exceptions', true, parts.exceptions),
      ]),
      el('div', { id: 'toast', className: 'toast hidden', role: 'status' }),
    );
  }

  // --- Charts -------------------------------------------------------------------------------

  const charts = {};
  const COLORS = { created: '#8c959f', succeeded: '#1a7f37', rate: '#0969da', refunds: '#bf8700' };

  function drawChart(id, labels, datasets, withRate) {
    const data = { labels, datasets };
    const existing = charts[id];
    if (existing) {
      existing.data = data;
      existing.update('none');
      return;
    }
    charts[id] = new Chart(document.getElementById(id), {
      type: 'bar',
      data,
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        plugins: { legend: { position: 'bottom' } },
        scales: {
          y: { beginAtZero: true, ticks: { precision: 0 } },
          ...(withRate
            ? {
                rate: {
                  position: 'right',
                  min: 0,
                  max: 100,
                  grid: { drawOnChartArea: false },
                  ticks: { callback: (v) => `${v}%` },
                },
              }
            : {}),
        },
      },
    });
  }

  const rateDataset = (groups) => ({
    type: 'line',
    label: `${t('successRate')} (%)`,
    data: groups.map((g) => (g && g.successRate !== null ? Math.round(g.successRate * 1000) / 10 : null)),
    yAxisID: 'rate',
    borderColor: COLORS.rate,
    backgroundColor: COLORS.rate,
    spanGaps: true,
  });
  const countDataset = (label, groups, count, color) => ({
    label,
    data: groups.map((g) => (g ? g.counts[count] : 0)),
    backgroundColor: color,
    yAxisID: 'y',
  });

  function renderCharts(byDay, byChannel) {
    const days = statsDays();
    const dayGroups = days.map((d) => byDay.groups.find((g) => g.key === d));
    const labels = days.map((d) => d.slice(5));
    drawChart(
      'perDayChart',
      labels,
      [
        countDataset(t('created'), dayGroups, 'created', COLORS.created),
        countDataset(t('succeeded'), dayGroups, 'succeeded', COLORS.succeeded),
        rateDataset(dayGroups),
      ],
      true,
    );
    const channels = byChannel.groups;
    drawChart(
      'perChannelChart',
      channels.map((g) => name(g.key)),
      [
        countDataset(t('created'), channels, 'created', COLORS.created),
        countDataset(t('succeeded'), channels, 'succeeded', COLORS.succeeded),
        rateDataset(channels),
      ],
      true,
    );
    drawChart(
      'refundsChart',
      labels,
      [{ label: t('refunds'), data: dayGroups.map((g) => (g ? g.refundCount : 0)), backgroundColor: COLORS.refunds }],
      false,
    );
  }

  // --- Totals -------------------------------------------------------------------------------

  function renderTotals(byCurrency, needsAttention) {
    parts.attention.textContent = String(needsAttention);
    parts.attention.classList.toggle('some', needsAttention > 0);
    const attentionCard = el('div', { className: 'card' }, [
      el('div', { className: 'currency', text: t('needsAttention') }),
      parts.attention,
    ]);
    if (byCurrency.groups.length === 0) {
      parts.totals.replaceChildren(attentionCard, el('p', { className: 'empty', text: t('noPayments') }));
      return;
    }
    parts.totals.replaceChildren(
      attentionCard,
      ...byCurrency.groups.map((group) => {
        const currency = group.key;
        const amounts = group.amounts.find((a) => a.currency === currency) ?? { captured: 0, refunded: 0 };
        const row = (key, value, testid) => [
          el('dt', { text: t(key) }),
          el('dd', { 'data-testid': testid && `total-${currency}-${testid}`, text: value }),
        ];
        return el('div', { className: 'card', 'data-testid': `total-${currency}` }, [
          el('div', { className: 'currency', text: currency }),
          el('dl', {}, [
            row('created', String(group.counts.created), 'created'),
            row('succeeded', String(group.counts.succeeded), 'succeeded'),
            row('successRate', percent(group.successRate), 'success-rate'),
            row('captured', money(amounts.captured, currency), 'captured'),
            row('refunded', money(amounts.refunded, currency), 'refunded'),
            row('refunds', String(group.refundCount), 'refunds'),
            row('refundRate', percent(group.refundRate)),
            row('timeToPaid', `${duration(group.timeToPaidMs.p50)} / ${duration(group.timeToPaidMs.p95)}`),
          ]),
        ]);
      }),
    );
  }

  // --- Lists --------------------------------------------------------------------------------

  /** A table; with `stack`, its rows become labelled lines at phone width (else it scrolls sideways). */
  function table(columns, rows, testid, stack = true) {
    if (rows.length === 0) return el('p', { className: 'empty', 'data-testid': `${testid}-empty`, text: t('none') });
    return el('table', { className: stack ? 'stack' : undefined, 'data-testid': testid }, [
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          columns.map((c) => el('th', { text: t(c) })),
        ),
      ),
      el(
        'tbody',
        {},
        rows.map((row) =>
          el(
            'tr',
            { 'data-testid': row.testid },
            row.cells.map((cell, i) =>
              cell instanceof Node && cell.nodeName === 'TD'
                ? cell
                : el(
                    'td',
                    {
                      'data-label': t(columns[i]),
                      className: row.numeric?.includes(i) ? 'num' : row.wrap?.includes(i) ? 'wrap' : undefined,
                    },
                    cell,
                  ),
            ),
          ),
        ),
      ),
    ]);
  }

  /** An action form: a reason, then one button per action; the API audits what is sent. */
  function actionCell(label, allowed, buttons, extra = []) {
    const reason = el('input', {
      name: 'reason',
      placeholder: t('reason'),
      'aria-label': t('reason'),
      required: true,
      maxlength: 256,
      disabled: !allowed,
    });
    const form = el('form', { onsubmit: (event) => event.preventDefault() }, [
      ...extra,
      reason,
      ...buttons.map((b) =>
        el('button', {
          type: 'button',
          className: b.className,
          'data-testid': b.testid,
          disabled: !allowed || b.disabled,
          title: !allowed ? t('noRight') : b.title,
          text: t(b.label),
          onclick: () => runAction(form, reason, b.send),
        }),
      ),
    ]);
    return el('td', { className: 'actions', 'data-label': label }, form);
  }

  async function runAction(form, reason, send) {
    if (!reason.value.trim()) {
      reason.reportValidity();
      return;
    }
    for (const control of form.elements) control.disabled = true;
    try {
      const answer = await send(reason.value.trim());
      if (answer.status >= 200 && answer.status < 300) {
        toast(t('done'));
        reason.value = '';
      } else {
        toast(`${t('failed')}: ${answer.body?.error?.message ?? answer.status}`, true);
      }
    } finally {
      for (const control of form.elements) control.disabled = false;
      await refresh(true);
    }
  }

  function renderHealth(channels) {
    parts.health.replaceChildren(
      table(
        ['channel', 'state', 'successRate', 'errorRate', 'p95', 'calls'],
        channels.map((c) => ({
          testid: `health-${c.channel}`,
          numeric: [2, 3, 4, 5],
          cells: [
            name(c.channel),
            el('span', { className: `state-${c.state}`, text: name(c.state) }),
            percent(c.successRate),
            percent(c.errorRate),
            c.p95Ms === null || c.p95Ms === undefined ? '—' : `${c.p95Ms} ms`,
            String(c.calls ?? '—'),
          ],
        })),
        'health',
        false,
      ),
    );
  }

  function renderAttention(payments) {
    parts.attentionList.replaceChildren(
      table(
        ['payment', 'order', 'channel', 'status', 'amount', 'actions'],
        payments.map((p) => ({
          testid: `attention-${p.paymentId}`,
          numeric: [4],
          cells: [
            el('code', { text: p.paymentId }),
            p.orderId,
            name(p.channel ?? 'none'),
            name(p.status),
            amountOf(p.amount, p.currency),
            actionCell(t('actions'), can('payments.requery'), [
              {
                label: 'requery',
                testid: `requery-${p.paymentId}`,
                send: (reason) => api('POST', `/payments/${encodeURIComponent(p.paymentId)}/requery`, { reason }),
              },
            ]),
          ],
        })),
        'attention',
      ),
    );
  }

  function renderRefunds(refunds) {
    const allowed = can('refunds.decide');
    parts.refunds.replaceChildren(
      table(
        ['refund', 'payment', 'amount', 'requestedBy', 'why', 'actions'],
        refunds.map((r) => {
          const own = r.requestedBy?.kind === 'staff' && r.requestedBy.operator === staff.name;
          const decide = (decision) => (reason) =>
            api('POST', `/refunds/${encodeURIComponent(r.refundId)}/${decision}`, { reason });
          return {
            testid: `refund-${r.refundId}`,
            numeric: [2],
            wrap: [4],
            cells: [
              el('code', { text: r.refundId }),
              el('code', { text: r.paymentId }),
              amountOf(r.amount, r.currency),
              r.requestedBy?.kind === 'staff' ? `${r.requestedBy.operator} (${r.requestedBy.role})` : t('platform'),
              r.reviewReason ?? r.reason,
              actionCell(t('actions'), allowed, [
                {
                  label: 'approve',
                  className: 'primary',
                  testid: `approve-${r.refundId}`,
                  disabled: own,
                  title: own ? t('ownRequest') : undefined,
                  send: decide('approve'),
                },
                {
                  label: 'reject',
                  className: 'danger',
                  testid: `reject-${r.refundId}`,
                  disabled: own,
                  title: own ? t('ownRequest') : undefined,
                  send: decide('reject'),
                },
              ]),
            ],
          };
        }),
        'refunds',
      ),
    );
  }

  const side = (s) => (s ? `${name(s.status)} · ${amountOf(s.amount, s.currency)}` : '—');

  function renderExceptions(exceptions) {
    const allowed = can('reconciliations.resolve');
    parts.exceptions.replaceChildren(
      table(
        ['date', 'channel', 'kind', 'order', 'here', 'atChannel', 'actions'],
        exceptions.map((x) => {
          const action = el(
            'select',
            { name: 'action', 'aria-label': t('actions'), disabled: !allowed },
            (x.actions ?? []).map((a) => el('option', { value: a, text: name(a) })),
          );
          return {
            testid: `exception-${x.exceptionId}`,
            cells: [
              x.date,
              name(x.channel),
              name(x.kind),
              el('code', { text: x.refundNo ?? x.paymentId }),
              side(x.here),
              side(x.atChannel),
              actionCell(
                t('actions'),
                allowed && (x.actions ?? []).length > 0,
                [
                  {
                    label: 'resolve',
                    testid: `resolve-${x.exceptionId}`,
                    send: (reason) =>
                      api('POST', `/reconciliation-exceptions/${encodeURIComponent(x.exceptionId)}/resolve`, {
                        action: action.value,
                        reason,
                      }),
                  },
                ],
                [action],
              ),
            ],
          };
        }),
        'exceptions',
      ),
    );
  }

  /** A list is left alone while someone is typing a reason in it, so a refresh never eats their words. */
  function busy(container) {
    return (
      (container.contains(document.activeElement) &&
        document.activeElement !== document.body &&
        document.activeElement.tagName !== 'BUTTON') ||
      [...container.querySelectorAll('input')].some((input) => input.value !== '')
    );
  }

  // --- Refresh ------------------------------------------------------------------------------

  let refreshing = false;
  async function refresh(force = false) {
    if (refreshing && !force) return;
    refreshing = true;
    try {
      const days = statsDays();
      const range = `from=${days[0]}&to=${days[days.length - 1]}`;
      const [byDay, byChannel, byCurrency, health, attention, refunds, exceptions] = await Promise.all([
        api('GET', `/stats?${range}&groupBy=day`),
        api('GET', `/stats?${range}&groupBy=channel`),
        api('GET', `/stats?${range}&groupBy=currency`),
        api('GET', '/channels'),
        api('GET', '/payments?needsAttention=true&limit=20'),
        api('GET', '/refunds?status=pending_review&limit=20'),
        api('GET', '/reconciliation-exceptions?state=open&limit=20'),
      ]);
      const day = ok(byDay);
      const channel = ok(byChannel);
      const currency = ok(byCurrency);
      if (day && channel && currency) {
        renderTotals(currency, currency.needsAttention);
        renderCharts(day, channel);
      }
      if (ok(health)) renderHealth(health.body.channels);
      if (ok(attention) && !busy(parts.attentionList)) renderAttention(attention.body.payments);
      if (ok(refunds) && !busy(parts.refunds)) renderRefunds(refunds.body.refunds);
      // For a role that may not read reconciliations (403), an empty list.
      if (!busy(parts.exceptions)) renderExceptions(ok(exceptions)?.exceptions ?? []);
      parts.updated.textContent = `${t('updated')} ${new Date().toLocaleTimeString(lang === 'zh' ? 'zh-CN' : 'en-GB')}`;
      document.body.dataset.loaded = 'true';
    } catch (err) {
      if (err instanceof Error && err.message !== 'signed out') toast(t('loadFailed'), true);
    } finally {
      refreshing = false;
    }
  }

  async function signOut() {
    await fetch(`${base}/session`, { method: 'DELETE', credentials: 'same-origin' });
    window.location.assign(base);
  }

  layout();
  void refresh();
  setInterval(() => void refresh(), (settings.refreshSeconds || 10) * 1000);
})();
