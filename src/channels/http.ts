import { ChannelUnavailableError } from './types.js';

/**
 * One call to a payment channel: `fetch` bounded by `timeoutMs`, which covers the whole exchange
 * (connect, headers and body). The answer is read in full before it is returned, so callers can
 * verify signatures over the exact bytes without another timeout of their own.
 *
 * Throws {@link ChannelUnavailableError} for a network error, a timeout, any 5xx and 429 (rate
 * limited): failures a retry or another channel may cure. Any other answer, other 4xx included, is
 * returned for the adapter to interpret in the channel's terms. Redirects are not followed.
 * Neither bodies nor headers are logged or put in errors.
 */
export async function channelFetch(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  const target = describeTarget(url);
  let response: Response;
  let body: ArrayBuffer;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    body = await response.arrayBuffer();
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    throw new ChannelUnavailableError(
      timedOut ? `${target} did not answer within ${timeoutMs} ms` : `${target} is unreachable: ${causeOf(err)}`,
    );
  }
  if (response.status >= 500 || response.status === 429) {
    throw new ChannelUnavailableError(`${target} answered HTTP ${response.status}`);
  }
  const hasNoBody = response.status === 204 || response.status === 205 || response.status === 304;
  return new Response(hasNoBody ? null : body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/** Method-free description of the endpoint, without query string (it may carry signed parameters). */
function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return 'channel endpoint';
  }
}

function causeOf(err: unknown): string {
  if (!(err instanceof Error)) return 'unknown error';
  const cause: unknown = err.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code ?? cause.message;
  }
  return err.message;
}
