import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPaymentRequest } from '../support/builders.js';
import { payAtChannel, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  attributes: Record<string, unknown>;
  serviceName: unknown;
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

const valuesOf = (attributes: OtlpAttribute[] = []) =>
  Object.fromEntries(attributes.map(({ key, value }) => [key, Object.values(value)[0]]));

/** An OTLP/HTTP receiver as a collector runs one: `POST /v1/traces` with the JSON encoding. */
async function startOtlpReceiver(): Promise<{ server: Server; endpoint: string; spans: ReceivedSpan[] }> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/traces' || req.headers['content-type'] !== 'application/json') {
      res.writeHead(415).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const resourceSpans of body.resourceSpans ?? []) {
        const serviceName = valuesOf(resourceSpans.resource?.attributes)['service.name'];
        for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
          for (const span of scopeSpans.spans ?? []) {
            spans.push({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId || undefined,
              name: span.name,
              attributes: valuesOf(span.attributes),
              serviceName,
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the OTLP receiver did not bind a TCP port');
  return { server, endpoint: `http://127.0.0.1:${address.port}`, spans };
}

/** The span, its parent, its parent's parent ... up to the root, by name. */
function ancestry(span: ReceivedSpan, spans: readonly ReceivedSpan[]): string[] {
  const names = [span.name];
  let current: ReceivedSpan | undefined = span;
  while (current?.parentSpanId !== undefined) {
    const parentId: string = current.parentSpanId;
    current = spans.find((s) => s.spanId === parentId);
    names.push(current?.name ?? `missing parent ${parentId}`);
  }
  return names;
}

describe('with OTEL_EXPORTER_OTLP_ENDPOINT set, a payment paid in the sandbox', () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let stack: TestStack | undefined;
  const lines: Record<string, unknown>[] = [];
  let paymentId: string;
  let requestId: string | null;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    stack = await startStack({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
      logSink: (line) => lines.push(JSON.parse(line)),
    });
    const created = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel: 'alipay' }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    paymentId = created.body.paymentId;
    requestId = created.headers.get('x-request-id');
    await payAtChannel(stack, paymentId);
    await waitForStatus(stack, paymentId, 'succeeded');
    await stack.temporal.client.workflow.getHandle(paymentId).result();
    // Stopping flushes the spans still batched.
    await stack.stop();
    stack = undefined;
  });
  afterAll(async () => {
    await stack?.stop();
    receiver?.server.close();
  });

  it('exports one trace from the API request through the workflow and the activity to the channel call', () => {
    const channelCreate = receiver.spans.find(
      (s) => s.name === 'channel create' && s.attributes['payment.channel'] === 'alipay',
    );
    expect(channelCreate, receiver.spans.map((s) => s.name).join(', ')).toBeDefined();
    // Route patterns as the metrics label them (src/api/metrics.ts): the router's `/` included.
    expect(ancestry(channelCreate!, receiver.spans)).toEqual([
      'channel create',
      'RunActivity:openChannelOrder',
      'StartActivity:openChannelOrder',
      'RunWorkflow:paymentWorkflow',
      'UpdateWithStartWorkflow:openPayment',
      'POST /v1/payments/',
    ]);

    const root = receiver.spans.find((s) => s.name === 'POST /v1/payments/')!;
    expect(root.traceId).toBe(channelCreate!.traceId);
    expect(root.attributes).toEqual({
      'http.request.method': 'POST',
      'http.route': '/v1/payments/',
      'http.response.status_code': 201,
      'payment.id': paymentId,
    });
    expect(root.serviceName).toBe('knowledge-pay-api');
  });

  it('writes the request id and the payment id on the request’s lines and its activities’ lines', () => {
    expect(requestId).toMatch(/^req_/);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'request', method: 'POST', status: 201, requestId, paymentId }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'channel call', channel: 'alipay', operation: 'create', requestId, paymentId }),
    );
  });
});
