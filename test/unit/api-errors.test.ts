import { ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { ApiError, errorHandler } from '../../src/api/errors.js';
import { createLogger } from '../../src/logger.js';

/** The one error middleware: what status and shape each kind of failure leaves the API with. */
function answer(err: unknown) {
  const lines: string[] = [];
  const handler = errorHandler(createLogger({ LOG_LEVEL: 'debug' }, 'test', { write: (l) => lines.push(l) }));
  const sent: { status?: number; body?: any; headers: Record<string, string> } = { headers: {} };
  const res = {
    headersSent: false,
    locals: { requestId: 'req_test' },
    setHeader(name: string, value: string) {
      sent.headers[name.toLowerCase()] = value;
      return this;
    },
    hasHeader(name: string) {
      return name.toLowerCase() in sent.headers;
    },
    status(code: number) {
      sent.status = code;
      return this;
    },
    json(body: unknown) {
      sent.body = body;
      return this;
    },
  };
  handler(err, { method: 'POST', baseUrl: '', path: '/v1/payments' } as never, res as never, () => undefined);
  return { ...sent, lines };
}

class MongoServerError extends Error {
  override name = 'MongoServerError';
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

describe('errorHandler', () => {
  it('answers an ApiError as it is', () => {
    const { status, body, headers } = answer(new ApiError(409, 'conflict_error', 'order_conflict', 'taken', 'orderId'));
    expect(status).toBe(409);
    expect(headers['cache-control']).toBe('no-store');
    expect(body).toEqual({
      error: {
        type: 'conflict_error',
        code: 'order_conflict',
        message: 'taken',
        param: 'orderId',
        requestId: 'req_test',
      },
    });
  });

  it('turns a busy or unreachable MongoDB into a 503 the caller may retry, logged as a warning', () => {
    const { status, body, lines } = answer(new MongoServerError('database is locked (5) (SQLITE_BUSY)'));
    expect(status).toBe(503);
    expect(body.error).toMatchObject({ type: 'service_unavailable_error', code: 'storage_unavailable' });
    expect(lines.join('')).toContain('"level":40');
    expect(lines.join('')).not.toContain('"level":50');
  });

  it('treats a socket error the MongoDB driver lets through (EPIPE on a closed connection) as storage, not a 500', () => {
    const epipe = Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE' });
    epipe.stack = `Error: This socket has been ended by the other party\n    at Connection.writeCommand (/app/node_modules/mongodb/src/cmap/connection.ts:718:21)`;
    expect(answer(epipe).status).toBe(503);
    expect(answer(epipe).body.error.code).toBe('storage_unavailable');
    // The same code from anything else stays unknown.
    const other = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    other.stack = 'Error: write EPIPE\n    at Socket._write (node:net:1:1)';
    expect(answer(other).status).toBe(500);
  });

  it('keeps anything unknown a 500 without detail, logged as an error', () => {
    const { status, body, lines } = answer(new TypeError('x is undefined'));
    expect(status).toBe(500);
    expect(body.error).toMatchObject({ type: 'api_error', code: 'internal_error' });
    expect(body.error.message).not.toContain('undefined');
    expect(lines.join('')).toContain('"level":50');
  });

  it('turns Temporal busy or restarting into a 503 the caller may retry, and keeps other Temporal errors a 500', () => {
    const grpc = (code: number, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details });
    const queryTimedOut = new ServiceError('Failed to query Workflow', {
      cause: grpc(4, 'query timed out before a worker could process it'),
    });
    const taskFailing = Object.assign(
      new Error('Unable to perform workflow execution update due to Workflow Task in failed state.'),
      { code: 9 },
    );
    const updateTimedOut = new WorkflowUpdateRPCTimeoutOrCancelledError('Deadline exceeded', {
      cause: grpc(4, 'Deadline exceeded'),
    });
    for (const err of [queryTimedOut, taskFailing, updateTimedOut, grpc(14, 'connection refused')]) {
      const { status, body, lines } = answer(err);
      expect(status, String(err)).toBe(503);
      expect(body.error).toMatchObject({ type: 'service_unavailable_error', code: 'request_timeout' });
      expect(body.error.message).toMatch(/retry the request \(with the same Idempotency-Key\)/);
      expect(lines.join('')).toContain('"level":40');
      expect(answer(err).headers['retry-after']).toBe('2');
    }
    expect(answer(grpc(3, 'invalid argument')).status).toBe(500);
    expect(answer(grpc(3, 'invalid argument')).headers['retry-after']).toBeUndefined();
    expect(answer(grpc(9, 'namespace is not active')).status).toBe(500);
  });
});
