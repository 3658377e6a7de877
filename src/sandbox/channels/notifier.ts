import type { PaymentChannel } from '../../../domain/payment.js';
import type { Logger } from '../../logger.js';

/** One notification of a simulated channel, re-signed for every delivery attempt. */
export interface OutgoingNotification {
  outTradeNo: string;
  url: string;
  /** Builds one delivery: the same event (same notification id), freshly timed and signed. */
  build(): { body: string; headers: Record<string, string> };
  /** Whether the merchant's answer stops the resends, by the channel's own rule. */
  isAcknowledged(status: number, body: string): boolean;
  /** What it tells, for the channel's books of acknowledged notifications. */
  event?: NotificationEvent;
}

export type NotificationEvent = { kind: 'payment' } | { kind: 'refund'; outRequestNo: string };

export interface Notifier {
  /**
   * Delivers `copies` copies at once (duplicates) and resolves when all have been answered or
   * timed out, with the number sent. Unless one was acknowledged, resends one at a time on the
   * channel's schedule until one is or the schedule ends. `copies` 0 sends nothing (lost).
   */
  send(notification: OutgoingNotification, copies: number): Promise<number>;
  /**
   * Sends one copy at `at` (at once if it has passed), with resends as {@link send}: for an
   * event the channel notifies later, such as a refund settling. Pending until then in this
   * process only: a process that stops before `at` loses the notification, as a channel may.
   */
  sendAt(at: Date, notification: OutgoingNotification): void;
  /** Stops every pending delivery and resend. */
  close(): void;
}

export interface NotifierOptions {
  channel: PaymentChannel;
  /** Waits before each resend, in milliseconds of real provider time. */
  resendScheduleMs: readonly number[];
  /** Multiplies every wait (0.01: four minutes become 2.4 s). */
  timeScale: number;
  logger: Logger;
  /** How long one delivery may take before it counts as unanswered (WeChat Pay allows 5 s). */
  attemptTimeoutMs?: number;
  /** Records that the merchant acknowledged `notification` (the channel's books); failures are logged. */
  onAcknowledged?: (notification: OutgoingNotification, at: Date) => Promise<void>;
}

export function createNotifier(options: NotifierOptions): Notifier {
  const { channel, resendScheduleMs, timeScale, logger } = options;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 5_000;
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  async function deliver(notification: OutgoingNotification, attempt: number): Promise<boolean> {
    let status = 0;
    let acknowledged = false;
    try {
      const { body, headers } = notification.build();
      const res = await fetch(notification.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(attemptTimeoutMs),
      });
      status = res.status;
      acknowledged = notification.isAcknowledged(status, await res.text());
    } catch (err) {
      logger.debug(
        { channel, outTradeNo: notification.outTradeNo, attempt, err: String(err) },
        'sandbox notification not answered',
      );
    }
    logger.debug(
      { channel, outTradeNo: notification.outTradeNo, attempt, status, acknowledged },
      'sandbox notification',
    );
    if (acknowledged && options.onAcknowledged) {
      await options
        .onAcknowledged(notification, new Date())
        .catch((err: unknown) =>
          logger.error(
            { channel, outTradeNo: notification.outTradeNo, err: err instanceof Error ? err.message : String(err) },
            'sandbox could not record an acknowledged notification',
          ),
        );
    }
    return acknowledged;
  }

  function scheduleResend(notification: OutgoingNotification, index: number): void {
    const wait = resendScheduleMs[index];
    if (closed || wait === undefined) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (closed) return;
      void deliver(notification, index + 1).then((acknowledged) => {
        if (!acknowledged) scheduleResend(notification, index + 1);
      });
    }, wait * timeScale);
    timer.unref();
    timers.add(timer);
  }

  async function send(notification: OutgoingNotification, copies: number): Promise<number> {
    if (copies <= 0 || closed) return 0;
    const answers = await Promise.all(Array.from({ length: copies }, () => deliver(notification, 0)));
    if (!answers.includes(true)) scheduleResend(notification, 0);
    return copies;
  }

  return {
    send,
    sendAt(at, notification) {
      if (closed) return;
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          // send() never rejects: deliver() turns every failure into "not acknowledged".
          void send(notification, 1);
        },
        Math.max(0, at.getTime() - Date.now()),
      );
      timer.unref();
      timers.add(timer);
    },
    close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
