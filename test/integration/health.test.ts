import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { createChannelAdapters } from '../../src/channels/index.js';
import { EnvelopeCodec } from '../../src/temporal/codec.js';
import { connectDatabase } from '../../src/db/connect.js';
import { createLogger } from '../../src/logger.js';
import { startStack, type TestStack } from '../support/stack.js';
import { once } from 'node:events';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('health and readiness', () => {
  it('says the process is alive', async () => {
    const res = await stack.request('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('sends security headers with every answer', async () => {
    const res = await stack.request('GET', '/healthz');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('is ready when Temporal and MongoDB both answer', async () => {
    const res = await stack.request('GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ready',
      dependencies: { temporal: { status: 'ok' }, mongodb: { status: 'ok' } },
    });
  });

  it('answers 503 naming MongoDB when its connection is gone', async () => {
    const database = await connectDatabase(stack.config.MONGODB_URI, { timeoutMs: 2_000 });
    await database.close();
    const app = createApp({
      config: stack.config,
      logger: createLogger({ LOG_LEVEL: 'silent' }, 'test'),
      temporal: { name: 'temporal', ...stack.temporal },
      database: { name: 'mongodb', ...database },
      keyring: stack.keyring,
      platformKeys: [stack.platformKey],
      channels: createChannelAdapters(stack.config, stack.keyring),
      codec: new EnvelopeCodec(stack.keyring.temporalCodec),
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      const body = (await res.json()) as { status: string; dependencies: Record<string, { status: string }> };
      expect(res.status).toBe(503);
      expect(body.status).toBe('not_ready');
      expect(body.dependencies.mongodb?.status).toBe('unavailable');
      expect(body.dependencies.temporal?.status).toBe('ok');
    } finally {
      server.close();
    }
  });
});
