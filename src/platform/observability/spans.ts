/**
 * Our own spans, through the OpenTelemetry API only. Without an SDK registered (tracing off, see
 * tracing.ts) every call here is a no-op: no span is recorded and no context is kept. Attributes
 * are ids and types only, never payloads or personal data.
 */
import { context, isSpanContextValid, SpanStatusCode, trace, type Attributes, type Span, type SpanContext } from '@opentelemetry/api';

/** The attribute every span about one payment carries: a trace backend finds the payment's trace by it. */
export const PAYMENT_ID = 'recoup.payment_id';

const tracer = () => trace.getTracer('recoup');

/**
 * Runs `work` in a span named `name` (the active one while it runs, so what it calls and what it
 * leaves to run after commit are its children). `parent`: a span context to continue instead of
 * the active one (an event applied after its webhook request ended). A thrown error ends the span
 * as an error, with the error's type only (its message may hold a statement with the payload inlined).
 */
export function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>, parent?: SpanContext): Promise<T> {
  const ctx = parent ? trace.setSpanContext(context.active(), parent) : context.active();
  return tracer().startActiveSpan(name, { attributes }, ctx, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The active span's context when one is being recorded (tracing on), else undefined. */
export function activeSpanContext(): SpanContext | undefined {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return undefined;
  const spanContext = span.spanContext();
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

/** Sets an attribute on the active span (no-op when tracing is off). */
export function annotateSpan(key: string, value: string): void {
  trace.getActiveSpan()?.setAttribute(key, value);
}

/** Marks a span failed by an error that is handled rather than thrown (its type only, as in inSpan). */
export function markFailed(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
}
