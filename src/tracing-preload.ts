/**
 * Imported by main.ts before anything else: the OpenTelemetry instrumentations patch express, pg
 * and graphql as they are required, so tracing must start before the app's modules load. A
 * configuration error is left for main to report with every other problem.
 */
import { loadConfig } from './platform/config';
import { startTracing, type Tracing } from './platform/observability/tracing';

function start(): Tracing | null {
  try {
    return startTracing(loadConfig().tracing);
  } catch {
    return null;
  }
}

export const tracing = start();
