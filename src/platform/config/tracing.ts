/** OpenTelemetry tracing: off unless an OTLP endpoint is set. */
import type { Reader } from './reader';

export interface TracingConfig {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL (traces go to `<endpoint>/v1/traces`); unset: tracing off. */
  endpoint?: string;
  /** OTEL_SERVICE_NAME: `service.name` on every span. */
  serviceName: string;
}

export function tracingConfig(r: Reader): TracingConfig {
  return { endpoint: r.url('OTEL_EXPORTER_OTLP_ENDPOINT'), serviceName: r.str('OTEL_SERVICE_NAME', 'recoup')! };
}
