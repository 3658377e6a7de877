import { ApplicationFailure, Context } from '@temporalio/activity';
import type { WebhookEvent } from '../domain/webhooks.js';
import type { FieldCipher } from '../src/crypto/field-cipher.js';
import type { Models } from '../src/db/connect.js';
import { WEBHOOK_SIGNATURE_HEADER, signWebhook } from '../src/webhooks/signature.js';

export interface FulfilmentDeps {
  models: Models;
  /** Encrypts what the platform answered before it is kept: its text is outside input. */
  fieldCipher: FieldCipher;
  webhookUrl: string;
  webhookSecret: string;
  timeoutMs: number;
}

export type DeliveryResult =
  | { delivered: true; status: number }
  | { delivered: false; refused: true; status: number; reason: string };

/** Error codes worth quoting from a platform's answer: a short token, never a sentence. */
const ERROR_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * What the workflow is told of a refusal (it goes into the payment's failure reason, its refund's
 * reason and the channel's refund request): the status, and the platform's error code when its
 * answer names one as `error`, `error.code` or `code`. Never the platform's free text, which stays
 * in the delivery record, encrypted.
 */
function refusalOf(status: number, answer: string): string {
  let body: unknown;
  try {
    body = answer.length <= 4096 ? JSON.parse(answer) : undefined;
  } catch {
    body = undefined;
  }
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const nested =
    typeof fields.error === 'object' && fields.error !== null ? (fields.error as Record<string, unknown>) : {};
  const code = [fields.error, nested.code, fields.code].find(
    (c): c is string => typeof c === 'string' && ERROR_CODE.test(c),
  );
  return code === undefined ? `HTTP ${status}` : `HTTP ${status} ${code}`;
}

/**
 * Sends one signed webhook to the platform. 2xx: delivered (for `payment.succeeded` that means
 * fulfilled). 409 or 422: the platform refuses (it cannot fulfil); the workflow compensates.
 * Anything else, or no answer, throws so the retry policy tries again with backoff. Every attempt
 * is recorded in `webhook_deliveries`, with the platform's answer (or why none came) encrypted.
 */
export function createFulfilmentActivities({
  models,
  fieldCipher,
  webhookUrl,
  webhookSecret,
  timeoutMs,
}: FulfilmentDeps) {
  return {
    async notifyPlatform(event: WebhookEvent): Promise<DeliveryResult> {
      const attempt = Context.current().info.attempt;
      const body = JSON.stringify(event);
      const paymentId = String(event.data.paymentId);
      const record = (httpStatus: number | null, outcome: 'delivered' | 'refused' | 'failed', error: string | null) =>
        models.webhookDeliveries.create({
          eventId: event.id,
          type: event.type,
          paymentId,
          url: webhookUrl,
          attempt,
          httpStatus,
          outcome,
          error: error === null ? null : fieldCipher.encrypt(error),
          at: new Date(),
        });
      let response: Response;
      try {
        response = await fetch(webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [WEBHOOK_SIGNATURE_HEADER]: signWebhook(webhookSecret, body) },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        await record(null, 'failed', (err as Error).message);
        throw new Error(`webhook ${event.type} to the platform got no answer: ${(err as Error).message}`);
      }
      const answer = await response.text();
      const text = answer.slice(0, 500);
      if (response.ok) {
        await record(response.status, 'delivered', null);
        return { delivered: true, status: response.status };
      }
      if (response.status === 409 || response.status === 422) {
        await record(response.status, 'refused', text);
        return { delivered: false, refused: true, status: response.status, reason: refusalOf(response.status, answer) };
      }
      await record(response.status, 'failed', text);
      throw ApplicationFailure.create({
        type: 'webhook_not_accepted',
        message: `platform answered ${response.status} to ${event.type}; retrying`,
      });
    },
  };
}
