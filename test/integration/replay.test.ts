import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { dataConverterFor } from '../../src/temporal/codec.js';
import { TEST_CODEC_KEYS } from '../support/stack.js';
import { HISTORIES_DIR, decodeHistory, type RecordedHistory } from '../support/histories.js';

const files = readdirSync(HISTORIES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
/** The paths whose history an earlier workflow code wrote is kept as `<path>.<version>.json`. */
const keptAs = (version: string) =>
  files.filter((f) => f.endsWith(`.${version}.json`)).map((f) => f.slice(0, -`.${version}.json`.length));

describe('replaying committed workflow histories', () => {
  it('has a history for every path of the saga and of refunds', () => {
    const names = files.map((f) => f.replace(/\.json$/, ''));
    for (const path of [
      'succeeded-alipay',
      'succeeded-wechatpay',
      'refunded-fulfilment-refused',
      'canceled',
      'failover',
      'expired',
      'late-refund',
      'succeeded-sealed-alipay',
      'succeeded-sealed-wechatpay',
      'refunds-partial-then-full-alipay',
      'refunds-partial-then-full-wechatpay',
      'refund-review-approved',
      'refund-review-rejected',
      'refund-failing-requeried',
      'manual-review-retried',
      'manual-review-declined-then-new-refund',
      'amount-mismatch-closed',
      'webhook-failing-then-delivered',
      'channel-unreachable-requeried',
      'opened-after-retry',
      'declined-then-switched',
    ]) {
      expect(names).toContain(path);
    }
  });

  it('keeps the histories earlier workflow code wrote, so payments running at a deploy replay', () => {
    expect(keptAs('v1')).toEqual(
      expect.arrayContaining([
        'succeeded-alipay',
        'succeeded-sealed-wechatpay',
        'refunded-fulfilment-refused',
        'expired',
        'late-refund',
        'refunds-partial-then-full-alipay',
        'refund-review-approved',
      ]),
    );
  });

  it('keeps the histories written before the quick steps became local activities', () => {
    expect(keptAs('v2')).toEqual(
      expect.arrayContaining(['succeeded-alipay', 'refunded-fulfilment-refused', 'expired']),
    );
  });

  it('records today’s payments with read-model writes and the voucher as local activities, none as server tasks', () => {
    const scheduled = (file: string) =>
      decodeHistory(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')) as RecordedHistory)
        .events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
        .filter((name): name is string => typeof name === 'string');
    const quick = ['savePayment', 'issueVoucher', 'voidVoucher'];
    for (const path of ['succeeded-alipay', 'refunded-fulfilment-refused']) {
      expect(scheduled(`${path}.v2.json`).filter((name) => quick.includes(name)).length).toBeGreaterThan(0);
      expect(scheduled(`${path}.json`).filter((name) => quick.includes(name))).toEqual([]);
    }
    // The happy path asks the server for two activity tasks only: the channel order and the webhook.
    expect(scheduled('succeeded-alipay.json')).toEqual(['openChannelOrder', 'notifyPlatform']);
  });

  it('keeps the refund histories written while their timers were still cancelled', () => {
    expect(keptAs('v3')).toEqual(
      expect.arrayContaining([
        'refunds-partial-then-full-wechatpay',
        'refund-failing-requeried',
        'refund-review-approved',
      ]),
    );
  });

  it('keeps the histories written before the saga asked the channel during the window', () => {
    expect(keptAs('v4')).toEqual(expect.arrayContaining(['expired', 'lost-notification']));
  });

  it('keeps the histories written before the risk check and the explained route, and records today’s with both', () => {
    expect(keptAs('v5')).toEqual(expect.arrayContaining(['succeeded-alipay', 'failover', 'canceled', 'expired']));
    const patches = (file: string) =>
      decodeHistory(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')) as RecordedHistory)
        .events.map((e) => e.markerRecordedEventAttributes)
        .filter((m) => m?.markerName === 'core_patch')
        .map(
          (m) =>
            (
              JSON.parse(Buffer.from(m?.details?.['patch-data']?.payloads?.[0]?.data ?? []).toString()) as {
                id: string;
              }
            ).id,
        );
    expect(patches('succeeded-alipay.json')).toEqual(expect.arrayContaining(['risk-check', 'route-reasons']));
    expect(patches('succeeded-alipay.v5.json')).not.toContain('risk-check');
  });

  it('records a declined try and a method switch: the attempts patch, the sealed update, the card order closed before PayPal’s opened', () => {
    const { events } = decodeHistory(
      JSON.parse(readFileSync(join(HISTORIES_DIR, 'declined-then-switched.json'), 'utf8')) as RecordedHistory,
    );
    const updates = events
      .map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name)
      .filter((name): name is string => typeof name === 'string');
    expect(updates).toContain('choosePaymentMethod');
    const steps = events
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter((name) => name === 'openChannelOrder' || name === 'closeChannelOrder' || name === 'notifyPlatform');
    // Card opened; the decline's webhook; card closed, then PayPal opened; the success's webhook.
    expect(steps).toEqual([
      'openChannelOrder',
      'notifyPlatform',
      'closeChannelOrder',
      'openChannelOrder',
      'notifyPlatform',
    ]);
  });

  it('records today’s expired payment asking the channel at its check-ins, then at the window’s end', () => {
    const { events } = decodeHistory(
      JSON.parse(readFileSync(join(HISTORIES_DIR, 'expired.json'), 'utf8')) as RecordedHistory,
    );
    const queries = events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'queryChannelOrder')
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
    // Three check-ins (1, 3, 7 minutes) and the window's end.
    expect(queries).toHaveLength(4);
  });

  it('records today’s workflows cancelling no timer: a cancel lost with its workflow task cannot meet the timer firing on replay', () => {
    const timed = new Set<string>();
    for (const file of files.filter((f) => !/\.v\d+\.json$/.test(f))) {
      const { events } = decodeHistory(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')) as RecordedHistory);
      const type = events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '';
      expect(
        events.filter((e) => e.timerCanceledEventAttributes),
        file,
      ).toEqual([]);
      if (events.some((e) => e.timerStartedEventAttributes)) timed.add(type);
    }
    // The two that wait on timers (payment window, slow calls; refund queries, idle end) are among them.
    expect([...timed]).toEqual(expect.arrayContaining(['paymentWorkflow', 'paymentRefundsWorkflow']));
  });

  it.each(files)('replays %s with today’s workflow code without a nondeterminism error', async (file) => {
    const record = JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')) as RecordedHistory;
    await Worker.runReplayHistory(
      {
        workflowBundle: { codePath: inject('workflowBundlePath') },
        dataConverter: dataConverterFor({ temporalCodec: TEST_CODEC_KEYS }),
      },
      decodeHistory(record),
      record.workflowId,
    );
  });
});
