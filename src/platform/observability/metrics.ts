import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * What the database says at a scrape (see reportBusiness). Every label value the gauge can take is
 * present, with 0 when there is none, so a series never disappears when its count drops to zero.
 */
export interface BusinessFigures {
  openAlerts: Record<string, number>;
  payments: Record<string, number>;
  deliveries: Record<string, number>;
  /** 0 when no delivery is owed. */
  deliveryOldestOwedAgeSeconds: number;
  inboxUnapplied: number;
  /** 0 when every event is applied. */
  inboxOldestUnappliedAgeSeconds: number;
  retryJobs: Array<{ status: string; reason: string; n: number }>;
  openFindings: Record<string, number>;
}

/** What a webhook event came to: on receipt (stored … bad_signature), then on applying (processed, failed). */
export type WebhookOutcome = 'stored' | 'duplicate' | 'requeued' | 'unapplied' | 'bad_signature' | 'processed' | 'failed';

/** The `type` label of an event whose type is not one of its source's known types (or is not known at all). */
export const OTHER_TYPE = 'other';

/** How long a scrape waits for fresh business figures before it answers with the last ones. */
const SCRAPE_WAIT_MS = 2000;

/** One registry per app instance, so two instances in one test process do not collide. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({ name: 'recoup_http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
  readonly httpDuration = new Histogram({ name: 'recoup_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry] });
  readonly webhookEvents = new Counter({
    name: 'recoup_webhook_events_total',
    help: 'Webhook events by source (stripe, telegram), event type (one Recoup acts on, else other) and outcome: on receipt stored, duplicate, requeued, unapplied or bad_signature; on applying processed or failed',
    labelNames: ['source', 'type', 'outcome'],
    registers: [this.registry],
  });
  readonly jobRuns = new Counter({ name: 'recoup_job_runs_total', help: 'Scheduled job runs by outcome', labelNames: ['job', 'outcome'], registers: [this.registry] });
  readonly jobDuration = new Histogram({ name: 'recoup_job_duration_seconds', help: 'Scheduled job run duration', labelNames: ['job'], registers: [this.registry] });
  readonly retryOutcomes = new Counter({
    name: 'recoup_retry_outcomes_total',
    help: 'What became of retry jobs, counted on commit: succeeded, paid_elsewhere, retry_scheduled, exhausted, customer_action_needed, cancelled',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly retryProcessing = new Histogram({
    name: 'recoup_retry_processing_seconds',
    help: 'Time to process one claimed retry job, by result: succeeded or failed (the charge and its recording), settled (no charge needed), error (nothing recorded)',
    labelNames: ['result'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly openAlerts = new Gauge({ name: 'recoup_open_alerts', help: 'Open alerts by severity', labelNames: ['severity'], registers: [this.registry] });
  readonly payments = new Gauge({ name: 'recoup_payments', help: 'Payments by status', labelNames: ['status'], registers: [this.registry] });
  readonly deliveries = new Gauge({ name: 'recoup_deliveries', help: 'Deliveries by status', labelNames: ['status'], registers: [this.registry] });
  readonly deliveryOldestOwedAge = new Gauge({ name: 'recoup_delivery_oldest_owed_age_seconds', help: 'How long the longest-owed delivery (PENDING or IN_PROGRESS) has been owed; 0 when none is', registers: [this.registry] });
  readonly inboxUnapplied = new Gauge({ name: 'recoup_inbox_unapplied_events', help: 'Webhook events stored and not applied yet (due, backing off, or given up on)', registers: [this.registry] });
  readonly inboxOldestUnappliedAge = new Gauge({ name: 'recoup_inbox_oldest_unapplied_age_seconds', help: 'Age of the oldest unapplied webhook event; 0 when every event is applied', registers: [this.registry] });
  readonly retryJobs = new Gauge({ name: 'recoup_retry_jobs', help: 'Open retry jobs (QUEUED, PROCESSING) by status and the reason of their last failure (NONE before any)', labelNames: ['status', 'reason'], registers: [this.registry] });
  readonly openFindings = new Gauge({ name: 'recoup_reconciliation_open_findings', help: 'Reconciliation findings whose alert is still open, by type', labelNames: ['type'], registers: [this.registry] });
  readonly businessCollectedAt = new Gauge({ name: 'recoup_business_metrics_collected_timestamp_seconds', help: 'When the database-backed figures shown were read (a scrape answers with the last ones when the database is slow or down)', registers: [this.registry] });
  readonly businessCollectFailures = new Counter({ name: 'recoup_business_metrics_collect_failures_total', help: 'Reads of the database-backed figures that failed or timed out', registers: [this.registry] });

  private readonly webhookTypes = new Map<string, ReadonlySet<string>>();
  /** Set once the features exist (they are built after metrics, which they report to). */
  private collectBusiness: (() => Promise<BusinessFigures>) | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(private readonly scrapeWaitMs = SCRAPE_WAIT_MS) {
    collectDefaultMetrics({ register: this.registry });
  }

  /** The event types of `source` that get a `type` label of their own; any other is `other`, which bounds the label. */
  knowWebhookTypes(source: string, types: readonly string[]): void {
    this.webhookTypes.set(source, new Set(types));
  }

  /** `type` null: not known (a body whose signature failed is not read). */
  webhookEvent(source: string, type: string | null, outcome: WebhookOutcome): void {
    const known = type !== null && this.webhookTypes.get(source)?.has(type);
    this.webhookEvents.inc({ source, type: known ? type : OTHER_TYPE, outcome });
  }

  /** Where the database-backed gauges are read from at each scrape; it should bound its own queries. */
  reportBusiness(collect: () => Promise<BusinessFigures>): void {
    this.collectBusiness = collect;
  }

  /**
   * Reads the business figures (one read at a time, however many scrapes ask) and renders. A scrape
   * waits for the read at most scrapeWaitMs, then answers with the figures it has, which the read
   * replaces when it lands; a failed read leaves them as they were. Never throws for the database.
   */
  async render(): Promise<string> {
    await this.refresh();
    return this.registry.metrics();
  }

  private async refresh(): Promise<void> {
    const collect = this.collectBusiness;
    if (!collect) return;
    this.refreshing ??= collect()
      .then((figures) => this.show(figures))
      .catch(() => this.businessCollectFailures.inc())
      .finally(() => {
        this.refreshing = null;
      });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.refreshing, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.scrapeWaitMs).unref()))]);
    clearTimeout(timer);
  }

  /** Synchronous: a scrape never sees half of one read and half of another. */
  private show(f: BusinessFigures): void {
    const set = (gauge: Gauge, label: string, values: Record<string, number>) => {
      gauge.reset();
      for (const [value, n] of Object.entries(values)) gauge.set({ [label]: value }, n);
    };
    set(this.openAlerts, 'severity', f.openAlerts);
    set(this.payments, 'status', f.payments);
    set(this.deliveries, 'status', f.deliveries);
    set(this.openFindings, 'type', f.openFindings);
    this.retryJobs.reset();
    for (const { status, reason, n } of f.retryJobs) this.retryJobs.set({ status, reason }, n);
    this.deliveryOldestOwedAge.set(f.deliveryOldestOwedAgeSeconds);
    this.inboxUnapplied.set(f.inboxUnapplied);
    this.inboxOldestUnappliedAge.set(f.inboxOldestUnappliedAgeSeconds);
    this.businessCollectedAt.set(Date.now() / 1000);
  }
}
