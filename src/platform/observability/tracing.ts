/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set. On: the NodeSDK with the
 * http, express, graphql and pg instrumentations, exporting over OTLP/HTTP (protobuf), plus our own
 * spans (spans.ts) that follow a payment from its webhook through applying the event to delivery.
 *
 * The instrumentations patch modules when they are required: startTracing must run before express,
 * pg and graphql are first required, which is why src/main.ts imports src/tracing-preload.ts first.
 */
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import type { TracingConfig } from '../config';

export interface Tracing {
  /** Flushes the spans not exported yet and stops the SDK. */
  shutdown(): Promise<void>;
}

/**
 * Statements reach pg with their values inlined (MikroORM formats them), so a stored event's
 * payload, names and emails would be in `db.statement`: string literals become `?`, and the text is cut.
 */
export function scrubStatement(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'/g, '?').slice(0, 500);
}

/** `spanProcessor`: instead of the OTLP exporter (tests use an in-memory one). */
export function startTracing(config: TracingConfig, options: { spanProcessor?: SpanProcessor } = {}): Tracing | null {
  if (!config.endpoint) return null;
  const processor = options.spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter({ url: `${config.endpoint.replace(/\/+$/, '')}/v1/traces` }));
  const sdk = new NodeSDK({
    serviceName: config.serviceName,
    spanProcessors: [processor],
    instrumentations: [
      new HttpInstrumentation(),
      new ExpressInstrumentation(),
      // One span per field would be thousands for a list query: trivial resolvers and list items are merged.
      new GraphQLInstrumentation({ ignoreTrivialResolveSpans: true, mergeItems: true, allowValues: false }),
      new PgInstrumentation({
        enhancedDatabaseReporting: false,
        requestHook: (span, { query }) => {
          const text = scrubStatement(query.text);
          span.setAttribute('db.statement', text);
          span.setAttribute('db.query.text', text);
        },
      }),
    ],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
