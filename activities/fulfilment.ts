import { ApplicationFailure, Context } from '@temporalio/activity';
import type { WebhookEvent } from '../domain/webhooks.js';
import type { Models } from '../src/db/connect.js';
import { WEBHOOK_SIGNATURE_HEADER, signWebhook } from '../src/webhooks/signature.js';

export interface FulfilmentDeps {
  models: Models;
  webhookUrl: string;
  webhookSecret: string;
  timeoutMs: number;
}

export type DeliveryResult =
  | { delivered: true; status: number }
  | { delivered: false; refused: true; status: number; reason: string };

/**
 * Sends one signed webhook to the platform. 2xx: delivered (for `payment.succeeded` that means
 * fulfilled). 409 or 422: the platform refuses (it cannot fulfil); the workflow compensates.
 * Anything else, or no answer, throws so the retry policy tries again with backoff. Every attempt
 * is recorded in `webhook_deliveries`.
 */
export function createFulfilmentActivities({ models, webhookUrl, webhookSecret, timeoutMs }: FulfilmentDeps) {
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
          error,
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
      const text = (await response.text()).slice(0, 500);
      if (response.ok) {
        await record(response.status, 'delivered', null);
        return { delivered: true, status: response.status };
      }
      if (response.status === 409 || response.status === 422) {
        await record(response.status, 'refused', text);
        return { delivered: false, refused: true, status: response.status, reason: text || `HTTP ${response.status}` };
      }
      await record(response.status, 'failed', text);
      throw ApplicationFailure.create({
        type: 'webhook_not_accepted',
        message: `platform answered ${response.status} to ${event.type}; retrying`,
      });
    },
  };
}
