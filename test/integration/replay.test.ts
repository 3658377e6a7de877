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
    ]) {
      expect(names).toContain(path);
    }
  });

  it('keeps the histories earlier workflow code wrote, so payments running at a deploy replay', () => {
    const earlier = files.filter((f) => f.endsWith('.v1.json')).map((f) => f.replace(/\.v1\.json$/, ''));
    expect(earlier).toEqual(
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
