import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelFetch } from '../../../src/channels/http.js';
import { ChannelUnavailableError } from '../../../src/channels/types.js';

let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 200);
    if (req.url?.startsWith('/slow')) {
      setTimeout(() => res.end('late'), 2_000).unref();
      return;
    }
    res.statusCode = status;
    res.end(`answer ${status}`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  baseUrl = `http://127.0.0.1:${address.port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('channelFetch', () => {
  it('returns a 2xx or 4xx answer with its body for the adapter to read', async () => {
    const ok = await channelFetch(`${baseUrl}/?status=200`, {}, 1_000);
    const refused = await channelFetch(`${baseUrl}/?status=404`, {}, 1_000);

    expect([ok.status, await ok.text()]).toEqual([200, 'answer 200']);
    expect([refused.status, await refused.text()]).toEqual([404, 'answer 404']);
  });

  it.each([500, 503, 429])('treats HTTP %i as the channel being unavailable', async (status) => {
    await expect(channelFetch(`${baseUrl}/?status=${status}`, {}, 1_000)).rejects.toThrow(ChannelUnavailableError);
  });

  it('treats a channel that does not answer in time as unavailable', async () => {
    await expect(channelFetch(`${baseUrl}/slow`, {}, 200)).rejects.toThrow(/did not answer within 200 ms/);
  });

  it('treats a refused connection as unavailable, without the query string in the message', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const address = closed.address();
    closed.close();
    if (address === null || typeof address === 'string') throw new Error('no port');

    const error = await channelFetch(`http://127.0.0.1:${address.port}/gateway.do?sign=SECRET`, {}, 1_000).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ChannelUnavailableError);
    expect(String(error)).not.toContain('SECRET');
  });
});
