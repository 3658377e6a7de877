import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import type { PlatformClient, RawResponse } from '../../client/index.js';

/** What the learner (and the platform) do with one payment in a chaos run. */
export type Plan = 'pay' | 'decline-then-pay' | 'refund-part' | 'cancel' | 'abandon';

/** Out of every 20 payments: 12 paid, 2 declined then paid, 3 paid then partly refunded, 1 canceled, 2 never paid. */
const PLANS: readonly Plan[] = [
  'pay',
  'refund-part',
  'pay',
  'decline-then-pay',
  'pay',
  'abandon',
  'pay',
  'refund-part',
  'pay',
  'cancel',
  'pay',
  'pay',
  'decline-then-pay',
  'pay',
  'refund-part',
  'pay',
  'abandon',
  'pay',
  'pay',
  'pay',
];

export const planFor = (i: number): Plan => PLANS[i % PLANS.length] as Plan;

/** The statuses a payment ends in, by plan (a refund may end the payment refunded in full). */
export const EXPECTED_STATUSES: Record<Plan, readonly string[]> = {
  pay: ['succeeded'],
  'decline-then-pay': ['succeeded'],
  'refund-part': ['partially_refunded'],
  cancel: ['canceled'],
  abandon: ['expired'],
};

export const TERMINAL_STATUSES = new Set([
  'succeeded',
  'failed',
  'expired',
  'canceled',
  'partially_refunded',
  'refunded',
]);

export const AMOUNT = 9_900;
export const REFUND_AMOUNT = 3_300;

export interface Journey {
  index: number;
  plan: Plan;
  orderId: string;
  paymentId?: string;
  /** Where the journey stopped, when it could not go on (a request that never got a usable answer). */
  error?: string;
}

/** How requests fared: every answer a client got that was not the one it wanted. */
export interface RequestTally {
  /** Answers by status (and `network` for no answer): what a client saw while processes died. */
  retried: Record<string, number>;
  /** Answers no client can act on: a 500, or a 4xx the request did not deserve. */
  unusable: { what: string; status: number; body: string }[];
  /** The longest a client retried one request before its usable answer came. */
  slowest?: { what: string; seconds: number; firstTryAt: string; paymentId?: string };
}

export interface JourneyContext {
  /** One client per API process; a request that gets no usable answer retries at the next. */
  clients: PlatformClient[];
  sandboxUrl: string;
  sandboxToken: string;
  runId: string;
  tally: RequestTally;
  /**
   * When a client gives up retrying (epoch ms): unbounded while faults are still being injected,
   * then the run's settle time after the last one, as a client that retries until the system has
   * had that long to recover. How long the slowest request took is reported (`tally.slowest`).
   */
  giveUpAt: number;
}

const RETRY_STATUSES = new Set([502, 503, 504, 429]);

function note(tally: RequestTally, key: string): void {
  tally.retried[key] = (tally.retried[key] ?? 0) + 1;
}

/**
 * Sends one platform request until it gets an answer a client can use, across the API processes,
 * with one Idempotency-Key throughout (a POST retried anywhere is still one request). Network
 * errors, 429, 502-504 and 409 `idempotency_request_in_progress` are retried; anything else is the
 * answer. A 500 is recorded as unusable and retried too (a real client would).
 */
export async function platformRequest(
  context: JourneyContext,
  index: number,
  method: string,
  path: string,
  body?: unknown,
): Promise<RawResponse> {
  const idempotencyKey = method === 'POST' ? randomUUID() : undefined;
  const firstAt = Date.now();
  for (let attempt = 0; ; attempt += 1) {
    const client = context.clients[(index + attempt) % context.clients.length] as PlatformClient;
    let retry: string;
    let retryAfterMs = 0;
    try {
      const res = await client.send(method, path, {
        maxRetries: 0,
        ...(body === undefined ? {} : { body }),
        ...(idempotencyKey ? { idempotencyKey } : {}),
      });
      const code = (res.body as { error?: { code?: string } } | undefined)?.error?.code;
      retryAfterMs = 1000 * (Number(res.headers.get('retry-after')) || 0);
      if (res.status === 500) {
        context.tally.unusable.push({ what: `${method} ${path}`, status: 500, body: JSON.stringify(res.body) });
        retry = '500';
      } else if (RETRY_STATUSES.has(res.status)) retry = `${res.status} ${code ?? ''}`.trim();
      else if (res.status === 409 && code === 'idempotency_request_in_progress') retry = `409 ${code}`;
      else {
        const seconds = (Date.now() - firstAt) / 1000;
        if (seconds > (context.tally.slowest?.seconds ?? 0)) {
          const paymentId = (res.body as { paymentId?: unknown } | undefined)?.paymentId ?? /pay_\w+/.exec(path)?.[0];
          context.tally.slowest = {
            what: `${method} ${path}`,
            seconds,
            firstTryAt: new Date(firstAt).toISOString(),
            ...(typeof paymentId === 'string' ? { paymentId } : {}),
          };
        }
        return res;
      }
    } catch {
      retry = 'network';
    }
    note(context.tally, retry);
    if (Date.now() > context.giveUpAt)
      throw new Error(`${method} ${path}: no usable answer within the deadline (last: ${retry})`);
    // As a careful client would: the server's Retry-After when longer than its own backoff.
    await sleep(Math.max(retryAfterMs, Math.min(250 * 2 ** Math.min(attempt, 4), 4_000)));
  }
}

/** A sandbox control call at the sandbox process itself (it never dies), retried while it answers 5xx. */
async function sandboxCall(context: JourneyContext, path: string, body: unknown): Promise<Response> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const res = await fetch(`${context.sandboxUrl}/sandbox/v1${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${context.sandboxToken}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      if (res.status < 500 && res.status !== 404) return res;
      await res.arrayBuffer();
    } catch {
      // the sandbox's database may be slow; try again
    }
    if (Date.now() > context.giveUpAt) throw new Error(`sandbox ${path}: no answer within the deadline`);
    await sleep(Math.min(250 * 2 ** Math.min(attempt, 4), 4_000));
  }
}

/** Polls the payment through the API until its status is one of `statuses`. */
async function until(context: JourneyContext, journey: Journey, statuses: readonly string[]): Promise<string> {
  let status = '';
  for (let attempt = 0; Date.now() < context.giveUpAt; attempt += 1) {
    const res = await platformRequest(context, journey.index + attempt, 'GET', `/v1/payments/${journey.paymentId}`);
    status = String((res.body as { status?: string } | undefined)?.status ?? `HTTP ${res.status}`);
    if (statuses.includes(status) || TERMINAL_STATUSES.has(status)) return status;
    await sleep(500);
  }
  return status;
}

/**
 * One learner's payment from create to its end, through whichever API processes are alive: create
 * (one Idempotency-Key across every retry), then per plan pay at the channel (declined first, or
 * not at all), cancel, or ask for a partial refund once paid.
 */
export async function runJourney(context: JourneyContext, journey: Journey): Promise<void> {
  const { index, plan } = journey;
  const created = await platformRequest(context, index, 'POST', '/v1/payments', {
    orderId: journey.orderId,
    customerId: `learner-${index % 97}`,
    currency: 'CNY',
    amount: AMOUNT,
    // The shortest window for the one who never pays, so the run sees expiry; a learner who pays
    // gets the default 15 minutes, as faults may keep the cashier away for a while.
    expiresInSeconds: plan === 'abandon' ? 60 : 900,
    items: [{ courseId: 'chaos-101', title: 'Surviving failures', unitAmount: AMOUNT, quantity: 1 }],
    // Alternating per round of plans, so every plan meets both channels.
    channel: (index + Math.floor(index / PLANS.length)) % 2 === 0 ? 'alipay' : 'wechatpay',
  });
  const { paymentId, channel } = (created.body ?? {}) as { paymentId?: string; channel?: string };
  if ((created.status !== 201 && created.status !== 200) || !paymentId) {
    journey.error = `create answered ${created.status} ${JSON.stringify(created.body)}`;
    return;
  }
  journey.paymentId = paymentId;
  if (plan === 'abandon') return;
  if (plan === 'cancel') {
    await until(context, journey, ['awaiting_payment']);
    const res = await platformRequest(context, index, 'POST', `/v1/payments/${paymentId}/cancel`, {
      reason: 'changed my mind',
    });
    if (res.status !== 200) journey.error = `cancel answered ${res.status} ${JSON.stringify(res.body)}`;
    return;
  }
  if (plan === 'decline-then-pay') {
    const declined = await sandboxCall(context, `/payments/${paymentId}/pay`, { outcome: 'declined', channel });
    if (declined.status !== 200) {
      journey.error = `declined pay answered ${declined.status} ${await declined.text()}`;
      return;
    }
  }
  // The learner pays where the payUrl leads: the channel the payment opened its order with.
  const paid = await sandboxCall(context, `/payments/${paymentId}/pay`, { outcome: 'success', channel });
  if (paid.status !== 200) {
    journey.error = `pay answered ${paid.status} ${await paid.text()}`;
    return;
  }
  if (plan !== 'refund-part') return;
  const status = await until(context, journey, ['succeeded']);
  if (status !== 'succeeded') {
    journey.error = `never succeeded before its refund (status ${status})`;
    return;
  }
  // GET answers from the payment's workflow; the refund is decided against the read model, which
  // lags while MongoDB is down: "is processing" then means "not written yet", so ask again.
  let refund: RawResponse;
  for (;;) {
    refund = await platformRequest(context, index, 'POST', `/v1/payments/${paymentId}/refunds`, {
      amount: REFUND_AMOUNT,
      reason: 'learner asked for part of the course back',
    });
    const error = (refund.body as { error?: { code?: string; message?: string } } | undefined)?.error;
    const lagging =
      refund.status === 409 && error?.code === 'payment_not_refundable' && /is processing/.test(error.message ?? '');
    if (!lagging || Date.now() > context.giveUpAt) break;
    note(context.tally, '409 payment_not_refundable (read model not written yet)');
    await sleep(1_000);
  }
  if (refund.status !== 201 && refund.status !== 200 && refund.status !== 202) {
    journey.error = `refund answered ${refund.status} ${JSON.stringify(refund.body)}`;
  }
}

/** Runs `total` journeys with at most `inFlight` at once; `onProgress` hears each one end. */
export async function runJourneys(
  context: JourneyContext,
  total: number,
  inFlight: number,
  onProgress: (done: number) => void,
): Promise<Journey[]> {
  const journeys: Journey[] = Array.from({ length: total }, (_, index) => ({
    index,
    plan: planFor(index),
    orderId: `chaos-${context.runId}-${index}`,
  }));
  let next = 0;
  let done = 0;
  const lane = async () => {
    for (;;) {
      const journey = journeys[next];
      next += 1;
      if (!journey) return;
      try {
        await runJourney(context, journey);
      } catch (err) {
        journey.error = (err as Error).message;
      }
      done += 1;
      onProgress(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, lane));
  return journeys;
}
