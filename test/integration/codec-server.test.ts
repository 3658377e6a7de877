import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionTemporal, type ProvisionedTemporal } from '../../src/provision/temporal.js';
import { loadProvisionSettings } from '../../src/provision/settings.js';
import { launchBrowser } from '../support/browser.js';
import { buildPaymentRequest } from '../support/builders.js';
import { startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let encrypted: { metadata: Record<string, string>; data: string };
const customerId = 'learner-for-codec-7';

beforeAll(async () => {
  stack = await startStack();
  const created = await stack.request('POST', '/v1/payments', buildPaymentRequest({ customerId }));
  const history = await stack.temporal.client.workflow.getHandle(created.body.paymentId).fetchHistory();
  const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!input) throw new Error('no workflow input in the history');
  encrypted = {
    metadata: Object.fromEntries(
      Object.entries(input.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
    ),
    data: Buffer.from(input.data ?? []).toString('base64'),
  };
});
afterAll(async () => {
  await stack?.stop();
});

const decode = (headers: Record<string, string>) =>
  fetch(`${stack.baseUrl}/codec/decode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ payloads: [encrypted] }),
  });

describe('the codec server for the Temporal Web UI', () => {
  it('decrypts history payloads for a caller with the token', async () => {
    const res = await decode({ authorization: `Bearer ${stack.keyring.codecServerToken}` });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    const [payload] = body.payloads;
    expect(Buffer.from(payload?.metadata.encoding ?? '', 'base64').toString()).toBe('json/plain');
    expect(Buffer.from(payload?.data ?? '', 'base64').toString()).toContain(customerId);
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer cst_not-the-token-not-the-token-not-the' }],
  ])('refuses a caller with %s, with the JSON error shape', async (_what, headers) => {
    const res = await decode(headers);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { type: string; code: string } };
    expect(body.error).toMatchObject({ type: 'authentication_error', code: 'codec_unauthorized' });
  });

  it('decrypts for the Web UI in a browser that entered the token at /codec/session', async () => {
    const page = await fetch(`${stack.baseUrl}/codec/session`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<form method="post" action="session">');

    const signIn = (token: string) =>
      fetch(`${stack.baseUrl}/codec/session`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: stack.baseUrl },
        body: new URLSearchParams({ token }),
      });
    const wrong = await signIn('cst_not-the-token-not-the-token-not-the');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const started = await signIn(stack.keyring.codecServerToken);
    expect(started.status).toBe(303);
    const setCookie = started.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(
      /^kp_codec_session=v1\.\d+\.[\w-]+; Path=\/codec; Expires=.*; HttpOnly; SameSite=Strict$/,
    );
    const cookie = setCookie.split(';')[0] ?? '';

    // What the UI sends with "Include cross-origin credentials": the cookie and its own Origin.
    const fromUi = await decode({ cookie, origin: 'http://127.0.0.1:8233' });
    expect(fromUi.status).toBe(200);
    expect(fromUi.headers.get('access-control-allow-credentials')).toBe('true');
    // The cookie alone is no credential: without the UI's Origin (a script elsewhere, curl) it is refused.
    expect((await decode({ cookie })).status).toBe(401);
    expect(
      (
        await decode({
          cookie: 'kp_codec_session=v1.9999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
          origin: 'http://127.0.0.1:8233',
        })
      ).status,
    ).toBe(401);
  });

  it('admits the Web UI by CORS and no other origin', async () => {
    const preflight = (origin: string) =>
      fetch(`${stack.baseUrl}/codec/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    const ui = await preflight('http://127.0.0.1:8233');
    expect(ui.status).toBe(204);
    expect(ui.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
    const other = await preflight('http://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('origin_not_allowed');
  });
});

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('the codec server behind the Temporal Web UI (the one `temporal server start-dev` serves)', () => {
  it(
    'shows ciphertext to a browser without a session, and decoded history once it entered the token',
    { timeout: 180_000 },
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'kp-codec-ui-'));
      // A port found free can be taken before the server binds it (the tests share the machine):
      // a server that exits at start is tried again on other ports.
      const onFreePorts = async (attempt = 1): Promise<{ temporal: ProvisionedTemporal; uiPort: number }> => {
        const [temporalPort, uiPort] = [await freePort(), await freePort()];
        try {
          const started = await provisionTemporal({
            ...loadProvisionSettings('test'),
            profile: 'dev',
            persistent: false,
            temporalAddress: undefined,
            temporalPort,
            temporalUiPort: uiPort,
            dataDir,
          });
          return { temporal: started, uiPort };
        } catch (err) {
          if (attempt >= 3 || !/exited/.test(String(err))) throw err;
          return onFreePorts(attempt + 1);
        }
      };
      const { temporal, uiPort } = await onFreePorts();
      const ui = `http://127.0.0.1:${uiPort}`;
      const withUi = await startStack({ temporalAddress: temporal.address, env: { CODEC_CORS_ORIGINS: ui } });
      const browser = await launchBrowser();
      try {
        const learner = 'learner-seen-through-the-ui-5';
        const created = await withUi.request('POST', '/v1/payments', buildPaymentRequest({ customerId: learner }));
        const page = await browser.newPage();
        /** Opens the payment's workflow in the UI; answers the status of the UI's first decode. */
        const openHistory = async () => {
          const answered = page.waitForResponse((r) => r.url().includes('/codec/decode'));
          await page.goto(`${ui}/namespaces/default/workflows/${String(created.body.paymentId)}`);
          return (await answered).status();
        };
        const shown = () => page.content().then((html) => html.includes(learner));
        // The UI's own codec settings, as a person sets them: this browser's endpoint, with credentials.
        await page.goto(ui);
        await page.evaluate((endpoint) => {
          type Storage = { setItem(key: string, value: string): void };
          const storage = (globalThis as unknown as { localStorage: Storage }).localStorage;
          storage.setItem('endpoint', JSON.stringify(endpoint));
          storage.setItem('includeCredentials', 'true');
          storage.setItem('overrideRemoteCodecConfiguration', 'true');
        }, `${withUi.baseUrl}/codec`);
        expect(await openHistory()).toBe(401);
        await page.waitForTimeout(2_000);
        expect(await shown()).toBe(false);

        await page.goto(`${withUi.baseUrl}/codec/session`);
        await page.fill('input[name=token]', withUi.keyring.codecServerToken);
        await Promise.all([page.waitForURL(`${withUi.baseUrl}/codec/session`), page.click('button[type=submit]')]);
        expect(await page.textContent('p.ok')).toMatch(/may decode Temporal history until/);
        expect(await openHistory()).toBe(200);
        await expect.poll(shown, { timeout: 15_000 }).toBe(true);
      } finally {
        await browser.close();
        await withUi.stop();
        await temporal.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  );
});
