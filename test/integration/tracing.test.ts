/**
 * Tracing: one paid payment's spans, from its webhook through applying the event to delivering
 * the links, in one trace and carrying the payment's id. The real startTracing with an in-memory
 * exporter, started before the app's modules load (they are required below, after it).
 */
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTracing, type Tracing } from '../../src/platform/observability/tracing';
import { loadConfig } from '../../src/platform/config';
import { PAYMENT_ID } from '../../src/platform/observability/spans';

const exporter = new InMemorySpanExporter();
const tracing = startTracing({ endpoint: 'http://127.0.0.1:9', serviceName: 'recoup-test' }, { spanProcessor: new SimpleSpanProcessor(exporter) }) as Tracing;

// Required only now, so that the instrumentations can patch what they load.
const { startHarness, eventually } = require('../support/harness') as typeof import('../support/harness');
const { createPayment, seedCatalog } = require('../support/fixtures') as typeof import('../support/fixtures');

describe('tracing', () => {
  let h: import('../support/harness').Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
    await tracing.shutdown();
  });

  it('is off without OTEL_EXPORTER_OTLP_ENDPOINT: startTracing returns null', () => {
    const config = loadConfig({});
    expect(config.tracing).toEqual({ endpoint: undefined, serviceName: 'recoup' });
    expect(startTracing(config.tracing)).toBeNull();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SERVICE_NAME: 'recoup-eu' }).tracing).toEqual({ endpoint: 'http://collector:4318', serviceName: 'recoup-eu' });
  });

  it('follows one paid payment from its webhook through inbox.apply to delivery.attempt in one trace', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    exporter.reset();
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);

    const spans = () => exporter.getFinishedSpans();
    const named = (name: string) => spans().filter((s) => s.name === name);
    const delivery = await eventually(async () => named('delivery.attempt').find((s) => s.attributes[PAYMENT_ID] === payment.id && s.attributes['recoup.delivery_status'] === 'DELIVERED'), 10_000);

    const traceId = delivery.spanContext().traceId;
    const inTrace = spans().filter((s) => s.spanContext().traceId === traceId);
    const parentOf = (span: ReadableSpan) => inTrace.find((s) => s.spanContext().spanId === span.parentSpanContext?.spanId);
    // delivery.attempt ← inbox.apply (the paying event, with the payment's id) ← inbox.store (the webhook request)
    const apply = parentOf(delivery);
    expect(apply?.name).toBe('inbox.apply');
    expect(apply?.attributes[PAYMENT_ID]).toBe(payment.id);
    const store = parentOf(apply!);
    expect(store?.name).toBe('inbox.store');
    expect(store?.attributes['recoup.event_id']).toBe(apply?.attributes['recoup.event_id']);
    expect(store?.attributes['recoup.event_type']).toBe(apply?.attributes['recoup.event_type']);

    // Jest loads modules through its own registry, not Node's require, so the instrumentations'
    // require-time patching of http, express, pg and graphql does not take here: their spans are
    // reported, not asserted; our own spans (scope recoup) are.
    const scopes = [...new Set(spans().map((s) => s.instrumentationScope.name))].sort();
    console.log(`tracing test: ${spans().length} spans, ${inTrace.length} in the payment's trace; scopes: ${scopes.join(', ')}`);
    expect(scopes).toContain('recoup');

    // No payloads or personal data on any span (pg statements have their literals scrubbed).
    for (const span of spans()) {
      for (const value of Object.values(span.attributes)) {
        expect(String(value)).not.toMatch(/dana@example\.com|Dana Buyer|\+14155550100/);
      }
    }
  });
});
