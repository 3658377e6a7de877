import { CURRENCY_EXPONENTS } from '../../domain/money.js';
import type { StaffIdentity } from '../staff/store.js';
import { permissionsOf } from '../staff/roles.js';

/** The languages the dashboard speaks. */
export const DASHBOARD_LANGUAGES = ['en', 'zh'] as const;
export type DashboardLanguage = (typeof DASHBOARD_LANGUAGES)[number];

export function isDashboardLanguage(value: unknown): value is DashboardLanguage {
  return typeof value === 'string' && (DASHBOARD_LANGUAGES as readonly string[]).includes(value);
}

/** The language an `Accept-Language` header prefers among ours (by weight, then order); English otherwise. */
export function languageFromAcceptLanguage(header: string | undefined): DashboardLanguage {
  const ranked = (header ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().toLowerCase().split(';');
      const q = Number(
        /^q=([\d.]+)$/.exec(params.map((p) => p.trim()).find((p) => p.startsWith('q=')) ?? '')?.[1] ?? 1,
      );
      return { tag, q: Number.isFinite(q) ? q : 0, index };
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const { tag } of ranked) {
    const primary = tag.split('-')[0];
    if (isDashboardLanguage(primary)) return primary;
  }
  return 'en';
}

/** Escapes text for HTML content and double-quoted attribute values. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const HTML_LANG: Record<DashboardLanguage, string> = { en: 'en', zh: 'zh-CN' };

const SIGN_IN_TEXT = {
  en: {
    title: 'Knowledge Pay · Staff dashboard',
    heading: 'Staff dashboard',
    lead: 'Sign in with your staff token. Staff tokens are issued with',
    token: 'Staff token',
    submit: 'Sign in',
    invalid: 'That staff token is not valid, or it was revoked.',
    expired: 'Your session has ended. Sign in again.',
    switchTo: '中文',
  },
  zh: {
    title: 'Knowledge Pay · 员工看板',
    heading: '员工看板',
    lead: '请用员工令牌登录。员工令牌的签发命令：',
    token: '员工令牌',
    submit: '登录',
    invalid: '员工令牌无效，或已被吊销。',
    expired: '会话已结束，请重新登录。',
    switchTo: 'English',
  },
} as const;

function head(lang: DashboardLanguage, title: string, base: string): string {
  return `<!doctype html>
<html lang="${HTML_LANG[lang]}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${base}/assets/dashboard.css">
</head>`;
}

function languageSwitch(lang: DashboardLanguage, base: string): string {
  const other: DashboardLanguage = lang === 'en' ? 'zh' : 'en';
  return `<a class="lang-switch" data-testid="lang-switch" href="${base}?lang=${other}" hreflang="${HTML_LANG[other]}">${SIGN_IN_TEXT[lang].switchTo}</a>`;
}

/**
 * The sign-in page: a form that posts the staff token to `<base>/session`. No scripts; `notice`
 * says why the person is here again (a refused token, an ended session).
 */
export function signInPage(options: { lang: DashboardLanguage; base: string; notice?: 'invalid' | 'expired' }): string {
  const { lang, base, notice } = options;
  const text = SIGN_IN_TEXT[lang];
  return `${head(lang, text.title, base)}
<body class="sign-in">
<main class="sign-in-card">
<div class="sign-in-top"><h1>${text.heading}</h1>${languageSwitch(lang, base)}</div>
<p>${text.lead} <code>npm run staff -- add &lt;name&gt; --role &lt;role&gt;</code></p>
${notice ? `<p class="notice" role="alert" data-testid="sign-in-notice">${text[notice]}</p>` : ''}
<form method="post" action="${base}/session">
<label for="token">${text.token}</label>
<input id="token" type="password" name="token" autocomplete="off" required maxlength="200" data-testid="token">
<button type="submit" data-testid="sign-in">${text.submit}</button>
</form>
</main>
</body></html>
`;
}

/**
 * The dashboard: an empty shell the script fills from the staff API, and what the script needs to
 * start (who is signed in and what their role may do, each currency's exponent, the statistics'
 * time zone, the language), as JSON in a `data-` attribute: no inline script, so the
 * Content-Security-Policy can forbid them.
 */
export function dashboardPage(options: {
  lang: DashboardLanguage;
  base: string;
  staff: StaffIdentity;
  statsUtcOffsetMinutes: number;
  refreshSeconds: number;
}): string {
  const { lang, base, staff } = options;
  const settings = {
    lang,
    base,
    staff: { name: staff.name, role: staff.role },
    permissions: permissionsOf(staff.role),
    exponents: CURRENCY_EXPONENTS,
    statsUtcOffsetMinutes: options.statsUtcOffsetMinutes,
    refreshSeconds: options.refreshSeconds,
  };
  return `${head(lang, SIGN_IN_TEXT[lang].title, base)}
<body data-settings="${escapeHtml(JSON.stringify(settings))}">
<div id="app" aria-live="polite"></div>
<noscript><p class="notice">The dashboard needs JavaScript. 看板需要启用 JavaScript。</p></noscript>
<script src="${base}/assets/chart.umd.min.js"></script>
<script src="${base}/assets/dashboard.js"></script>
</body></html>
`;
}
