import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per app instance, so two instances in one test process do not collide. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({ name: 'recoup_http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
  readonly httpDuration = new Histogram({ name: 'recoup_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry] });
  readonly webhookEvents = new Counter({ name: 'recoup_webhook_events_total', help: 'Webhook events by gateway and outcome: on receipt stored, duplicate, requeued, unapplied or bad_signature; on applying processed or failed', labelNames: ['gateway', 'outcome'], registers: [this.registry] });
  readonly jobRuns = new Counter({ name: 'recoup_job_runs_total', help: 'Scheduled job runs by outcome', labelNames: ['job', 'outcome'], registers: [this.registry] });
  readonly jobDuration = new Histogram({ name: 'recoup_job_duration_seconds', help: 'Scheduled job run duration', labelNames: ['job'], registers: [this.registry] });
  readonly openAlerts = new Gauge({ name: 'recoup_open_alerts', help: 'Open alerts by severity', labelNames: ['severity'], registers: [this.registry] });

  /** Set once the alerts feature exists (it is built after metrics, which it reports to). */
  private collectOpenAlerts: () => Promise<Record<string, number>> = async () => ({});

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Where the open-alerts gauge is read from at each scrape. */
  reportOpenAlerts(collect: () => Promise<Record<string, number>>): void {
    this.collectOpenAlerts = collect;
  }

  async render(): Promise<string> {
    try {
      const counts = await this.collectOpenAlerts();
      for (const [severity, count] of Object.entries(counts)) this.openAlerts.set({ severity }, count);
    } catch {
      // The scrape still answers with what it has; readiness reports the database.
    }
    return this.registry.metrics();
  }
}
