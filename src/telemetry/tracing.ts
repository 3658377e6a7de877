import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Config } from '../config.js';

/**
 * A process's OpenTelemetry tracing: what the API's request spans, the Temporal SDK's interceptors
 * and the channel call spans are made with and exported through.
 */
export interface Tracing {
  tracer: Tracer;
  /** Where finished spans go (batched to the OTLP exporter); the workflow span sink feeds it too. */
  spanProcessor: SpanProcessor;
  resource: Resource;
  /** Sends the spans still queued, then stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * Starts tracing when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: a tracer provider registered as the
 * process's global one (with the async-hooks context manager and W3C trace-context propagation the
 * Temporal interceptors rely on), exporting in batches over OTLP/HTTP (JSON) to
 * `<endpoint>/v1/traces`. Unset, it does nothing and answers undefined: no provider, no
 * interceptors, no spans. Call once per process, before the Temporal client and worker are made.
 */
export function startTracing(
  config: Pick<Config, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_SERVICE_NAME'>,
  component: 'api' | 'worker',
): Tracing | undefined {
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (endpoint === undefined) return undefined;
  const resource = new Resource({ 'service.name': config.OTEL_SERVICE_NAME ?? `knowledge-pay-${component}` });
  const spanProcessor = new BatchSpanProcessor(
    new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }),
  );
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  return {
    tracer: provider.getTracer('knowledge-pay'),
    spanProcessor,
    resource,
    shutdown: () => provider.shutdown(),
  };
}
