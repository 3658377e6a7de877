import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Payload } from '@temporalio/common';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler } from '../../../src/api/errors.js';
import { codecRoutes } from '../../../src/api/routes/codec.js';
import { createLogger } from '../../../src/logger.js';
import { runToCompletion } from '../../../src/provision/processes.js';
import { loadProvisionSettings } from '../../../src/provision/settings.js';
import { EnvelopeCodec } from '../../../src/temporal/codec.js';
import { TEST_CODEC_KEYS, startStack, type TestStack } from '../../support/stack.js';

/**
 * The codec server and the data at rest, attacked the way a page in a developer's browser, a
 * client with many fresh payloads, or another user of the machine would.
 */
let stack: TestStack;
const logLines: string[] = [];
// A key per payload, so each one costs the reader an RSA unwrap (workers reuse a key for many).
const writer = new EnvelopeCodec(TEST_CODEC_KEYS, { dataKeyMaxUses: 1 });

beforeAll(async () => {
  stack = await startStack({ logSink: (line) => logLines.push(line) });
});
afterAll(async () => {
  await stack?.stop();
});

type JsonPayload = { metadata: Record<string, string>; data: string };

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

/** `count` payloads as a worker writes them, each under a data key of its own (so each costs an RSA unwrap). */
async function freshPayloads(count: number): Promise<JsonPayload[]> {
  const plain = Array.from({ length: count }, (_, i) => ({
    metadata: { encoding: new TextEncoder().encode('json/plain') },
    data: new TextEncoder().encode(JSON.stringify({ learner: `learner-${i}` })),
  }));
  return (await writer.encode(plain)).map(toJson);
}

const bearer = () => ({ authorization: `Bearer ${stack.keyring.codecServerToken}` });

const decode = (payloads: unknown[], headers: Record<string, string> = bearer()) =>
  fetch(`${stack.baseUrl}/codec/decode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ payloads }),
  });

/** A raw request with a Host header of our choosing (fetch will not send one). */
function withHost(host: string, body: string, headers: Record<string, string>) {
  const url = new URL(`${stack.baseUrl}/codec/decode`);
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { host, 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the codec server asks every caller who they are', () => {
  it('refuses a caller on this machine without the token, with no exemption for loopback', async () => {
    const res = await decode(await freshPayloads(1), {});
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error).toMatchObject({
      type: 'authentication_error',
      code: 'codec_unauthorized',
    });
  });

  it('refuses a Host it does not serve (a rebound DNS name), even with the token', async () => {
    const body = JSON.stringify({ payloads: await freshPayloads(1) });
    const rebound = await withHost(`rebind.attacker.example:${new URL(stack.baseUrl).port}`, body, bearer());
    expect(rebound.status).toBe(403);
    expect(rebound.body.error).toMatchObject({ type: 'permission_error', code: 'host_not_allowed' });
    for (const host of ['127.0.0.1@attacker.example', 'attacker.example#127.0.0.1', '127.0.0.1.attacker.example']) {
      expect((await withHost(host, body, bearer())).status, host).toBe(403);
    }
    for (const host of [`localhost:${new URL(stack.baseUrl).port}`, new URL(stack.baseUrl).host]) {
      expect((await withHost(host, body, bearer())).status, host).toBe(200);
    }
  });

  it("refuses an Origin that is not the Web UI's, even with the token", async () => {
    const res = await decode(await freshPayloads(1), { ...bearer(), origin: 'http://attacker.example' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).error.code).toBe('origin_not_allowed');
  });
});

describe('the codec server bounds the work a request may ask for', () => {
  it('refuses more payloads than CODEC_MAX_PAYLOADS (422) and a body over CODEC_BODY_LIMIT_BYTES (413)', async () => {
    const max = stack.config.CODEC_MAX_PAYLOADS;
    const one = (await freshPayloads(1))[0];
    const tooMany = await decode(Array.from({ length: max + 1 }, () => one));
    expect(tooMany.status).toBe(422);
    expect(((await tooMany.json()) as any).error).toMatchObject({ code: 'invalid_parameter', param: 'payloads' });

    const tooLarge = await decode([{ metadata: {}, data: 'A'.repeat(stack.config.CODEC_BODY_LIMIT_BYTES) }]);
    expect(tooLarge.status).toBe(413);
    expect(((await tooLarge.json()) as any).error.code).toBe('body_too_large');
  });

  it('keeps answering /healthz all through a burst of decodes with fresh keys', async () => {
    // Three requests of fresh payloads: each payload costs an RSA-3072 unwrap. Unwrapped on the
    // event loop (as before), a request answered nothing else until it was done, so /healthz
    // answered only between two requests: in three or four tenths of the burst's time at most.
    // Unwrapped off the loop, /healthz answers in every tenth of it.
    const bursts = await Promise.all([0, 1, 2].map(() => freshPayloads(stack.config.CODEC_MAX_PAYLOADS)));
    const started = performance.now();
    let ended: number | undefined;
    const burst = Promise.all(bursts.map((payloads) => decode(payloads))).finally(() => (ended = performance.now()));
    const answeredAt: number[] = [];
    while (ended === undefined) {
      const res = await fetch(`${stack.baseUrl}/healthz`);
      expect(res.status).toBe(200);
      answeredAt.push(performance.now());
    }
    const answers = await burst;
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    const span = ended - started;
    const tenths = new Set(
      answeredAt.filter((t) => t < (ended ?? 0)).map((t) => Math.floor(((t - started) / span) * 10)),
    );
    expect(tenths.size).toBeGreaterThanOrEqual(8);
  });

  it('answers 503 codec_busy with Retry-After when too many payloads already wait for decryption', async () => {
    // A codec that holds every decode until released, behind the real routes: what waits is exact.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let decoding = 0;
    const holding = {
      encode: (payloads: Payload[]) => Promise.resolve(payloads),
      decode: async (payloads: Payload[]) => {
        decoding += 1;
        await held;
        return payloads;
      },
    };
    const app = express();
    app.use(
      '/codec',
      codecRoutes({
        codec: holding,
        token: stack.keyring.codecServerToken,
        corsOrigins: [],
        publicBaseUrl: 'http://127.0.0.1',
        allowedHosts: [],
        maxPayloads: 2,
        bodyLimitBytes: 65_536,
        rateLimitPerMinute: 1_000,
        models: stack.database.models,
        logger: createLogger({ LOG_LEVEL: 'silent' }, 'test'),
      }),
    );
    app.use(errorHandler(createLogger({ LOG_LEVEL: 'silent' }, 'test')));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const address = server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const post = () =>
      fetch(`${base}/codec/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer() },
        body: JSON.stringify({ payloads: [{ data: 'AA==' }, { data: 'AQ==' }] }),
      });
    try {
      // Four requests of two payloads fill the queue (four times CODEC_MAX_PAYLOADS)...
      const waiting = [post(), post(), post(), post()];
      await expect.poll(() => decoding).toBe(4);
      const busy = await post();
      expect(busy.status).toBe(503);
      expect(busy.headers.get('retry-after')).toBe('1');
      expect(((await busy.json()) as any).error).toMatchObject({
        type: 'service_unavailable_error',
        code: 'codec_busy',
      });
      release();
      expect((await Promise.all(waiting)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
      // ...and once they are answered, there is room again.
      expect((await post()).status).toBe(200);
    } finally {
      release();
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('the codec server answers bad ciphertext as a bad request', () => {
  it('answers 422 naming the payload, in the one error shape, and logs no error or stack', async () => {
    // Each case damages a payload of its own: a data key once unwrapped is cached by its wrapped form.
    const [good, damaged, badKey, unknownKey, truncated] = await freshPayloads(5);
    if (!good || !damaged || !badKey || !unknownKey || !truncated) throw new Error('no payloads');
    const flipped = Buffer.from(damaged.data, 'base64');
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 0xff;
    const metadata = (p: JsonPayload, key: string, value: Buffer) => ({
      ...p,
      metadata: { ...p.metadata, [key]: value.toString('base64') },
    });
    const cases: [string, JsonPayload][] = [
      ['a damaged ciphertext', { ...damaged, data: flipped.toString('base64') }],
      ['a wrapped key that does not unwrap', metadata(badKey, 'encryption-wrapped-key', Buffer.alloc(384, 7))],
      ['an unknown key id', metadata(unknownKey, 'encryption-key-id', Buffer.from('ck_0000000000000000'))],
      ['a truncated payload', { ...truncated, data: 'AAAA' }],
    ];
    const before = logLines.length;
    for (const [what, bad] of cases) {
      const res = await decode([good, bad]);
      expect(res.status, what).toBe(422);
      const body = (await res.json()) as any;
      expect(body.error, what).toMatchObject({
        type: 'validation_error',
        code: 'invalid_parameter',
        param: 'payloads.1',
      });
      expect(body.error.requestId, what).toMatch(/\S/);
    }
    const logged = logLines.slice(before).map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(logged.filter((line) => line.level >= 50)).toEqual([]);
    expect(logLines.slice(before).join('\n')).not.toMatch(/"stack"|\n\s+at /);
    expect(logged.filter((line) => line.msg === 'codec: undecodable payload')).toHaveLength(cases.length);
  });
});

describe('the data at rest of the provisioned servers', () => {
  /** Permission bits of a path. */
  const modeOf = (path: string) => lstatSync(path).mode & 0o777;

  it('is readable by its owner only: data and log folders 0700, their files 0600', () => {
    const { dataDir } = loadProvisionSettings('test');
    expect(modeOf(dataDir)).toBe(0o700);
    const logs = join(dataDir, 'logs');
    expect(modeOf(logs)).toBe(0o700);
    const logFiles = readdirSync(logs);
    expect(logFiles.length).toBeGreaterThan(0);
    for (const file of logFiles) expect(modeOf(join(logs, file)), file).toBe(0o600);
    // The servers' own files: FerretDB's SQLite databases (test profile), Temporal's (dev profile).
    for (const folder of ['ferretdb', 'mongod']) {
      const path = join(dataDir, folder);
      if (!readdirSync(dataDir).includes(folder)) continue;
      expect(modeOf(path), folder).toBe(0o700);
      for (const file of readdirSync(path)) {
        const full = join(path, file);
        if (lstatSync(full).isFile()) expect(modeOf(full), `${folder}/${file}`).toBe(0o600);
      }
    }
  });

  it('is created private by the servers themselves: a started process makes 0600 files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kp-private-'));
    try {
      await runToCompletion('touch', 'sh', ['-c', 'echo data > created-by-server.db'], {
        logFile: join(dir, 'logs', 'touch.log'),
        cwd: dir,
      });
      expect(modeOf(join(dir, 'created-by-server.db'))).toBe(0o600);
      expect(modeOf(join(dir, 'logs'))).toBe(0o700);
      // The log file opens asynchronously, and the command may be done first.
      await expect.poll(() => existsSync(join(dir, 'logs', 'touch.log'))).toBe(true);
      expect(modeOf(join(dir, 'logs', 'touch.log'))).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
