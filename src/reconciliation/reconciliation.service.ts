import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { AlertService } from '../alerts/alert.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import type { Config } from '../platform/config';
import { recordAudit } from '../audit/audit.service';
import type { Actor, Database, Tx } from '../platform/database/transaction';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway';
import { AppError } from '../platform/shared/errors';
import type { Logger } from '../platform/observability/logger';
import type { CheckContext, ReconciliationCheck, ResolveScope } from './checks/check.types';
import { FindingRecorder } from './finding-recorder';
import { GatewayLister, meteredGateway } from './gateway-lister';
import { countsOf } from './run-counts';
import { ReconciliationRun, ReconciliationRunStatus, type RunError } from './reconciliation-run.entity';

const DAY_MS = 86_400_000;
const HEARTBEAT_MS = 30_000;
/** A RUNNING run whose heartbeat is older than this belonged to a process that died. */
const STALE_AFTER_MS = 5 * 60_000;

/**
 * The nightly reconciliation against Stripe (and `runReconciliation` on demand). One run at a
 * time across instances (a partial unique index on RUNNING). Checks run in order — missed webhooks
 * first, so what they explain is repaired, not reported — and a check that fails is recorded in
 * the run's errors without stopping the others. Open alerts a check no longer finds are resolved.
 */
export class ReconciliationService {
  private readonly background = new Set<Promise<unknown>>();

  constructor(
    private readonly db: Database,
    private readonly gateway: PaymentGateway,
    private readonly alerts: AlertService,
    private readonly checks: ReconciliationCheck[],
    private readonly settings: Config['reconciliation'],
    private readonly logger: Logger,
  ) {}

  /**
   * Runs to the end and answers the stored run. `trigger` is `job` (or a bench's name), or the
   * actor who asked for the run (runReconciliation): theirs is an operator action, audited once
   * as `reconciliation.run` when the run ends, with its status and counts.
   */
  async run(trigger: string | Actor, windowDays = this.settings.windowDays): Promise<ReconciliationRun> {
    return this.execute(await this.start(triggerOf(trigger), windowDays), requesterOf(trigger));
  }

  /** Starts a run and answers at once (RUNNING); it finishes in the background (audited as run's). */
  async runInBackground(trigger: string | Actor, windowDays = this.settings.windowDays): Promise<ReconciliationRun> {
    const run = await this.start(triggerOf(trigger), windowDays);
    const work = this.execute(run, requesterOf(trigger)).catch((error: unknown) => this.logger.error({ err: error, runId: run.id }, 'reconciliation run failed'));
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
    return run;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.background]);
  }

  private async start(trigger: string, windowDays: number): Promise<ReconciliationRun> {
    if (!Number.isInteger(windowDays) || windowDays < 1 || windowDays > 90) throw AppError.badInput('windowDays must be an integer from 1 to 90');
    await this.closeStale();
    const now = this.db.clock.now();
    try {
      return await this.db.transaction(async (tx) => {
        const run = tx.em.create(ReconciliationRun, { trigger, windowStart: new Date(now.getTime() - windowDays * DAY_MS), windowEnd: now, startedAt: now, heartbeatAt: now });
        await tx.em.flush();
        return run;
      });
    } catch (error) {
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      const running = await this.db.fork().findOne(ReconciliationRun, { status: ReconciliationRunStatus.RUNNING });
      throw AppError.conflict(`A reconciliation run is already in progress${running ? ` (${running.id}, started ${running.startedAt.toISOString()})` : ''}`, { runId: running?.id ?? null });
    }
  }

  private async execute(run: ReconciliationRun, requester: Actor | null): Promise<ReconciliationRun> {
    const started = Date.now();
    const lister = new GatewayLister(this.settings);
    const recorder = new FindingRecorder(this.db, this.alerts, run.id);
    const now = run.windowEnd;
    const ctx: CheckContext = {
      runId: run.id,
      window: { start: run.windowStart, end: run.windowEnd },
      now,
      settledBefore: new Date(now.getTime() - this.settings.graceMinutes * 60_000),
      db: this.db,
      lister,
      gateway: this.gateway,
      metered: meteredGateway(this.gateway, lister),
      sink: recorder,
    };
    const heartbeat = setInterval(() => void this.beat(run.id), HEARTBEAT_MS);
    heartbeat.unref();
    try {
      const { errors, scopes, counts } = await this.runChecks(ctx);
      const resolved = await recorder.resolveGone([...scopes, ...this.selfScope(errors)]);
      return await this.finish(run.id, requester, { errors, counts, resolved, recorder, lister, durationMs: Date.now() - started });
    } catch (error) {
      await this.abandon(run.id, requester, error);
      throw error;
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async runChecks(ctx: CheckContext): Promise<{ errors: RunError[]; scopes: ResolveScope[]; counts: Record<string, number> }> {
    const errors: RunError[] = [];
    const scopes: ResolveScope[] = [];
    const counts: Record<string, number> = {};
    for (const check of this.checks) {
      const log = this.logger.child({ runId: ctx.runId, check: check.name });
      try {
        const outcome = await check.run(ctx);
        scopes.push(...(outcome.scopes ?? []));
        // Both gateways' checks count payments: the run's figure is their sum.
        for (const [key, value] of Object.entries(outcome.counts ?? {})) counts[key] = (counts[key] ?? 0) + (value ?? 0);
        log.info({ apiCalls: ctx.lister.meter.calls }, 'reconciliation check done');
      } catch (error) {
        // Its findings so far stand; nothing it examined is auto-resolved (its scopes are dropped).
        errors.push({ check: check.name, message: (error as Error).message ?? String(error) });
        log.error({ err: error }, 'reconciliation check failed');
      }
    }
    return { errors, scopes, counts };
  }

  /** A failed-run alert resolves itself once a run gets through every check. */
  private selfScope(errors: RunError[]): ResolveScope[] {
    return errors.length === 0 ? [{ alertType: AlertType.RECONCILIATION_FAILED, examined: () => true, note: 'a later run completed every check' }] : [];
  }

  private async finish(runId: string, requester: Actor | null, result: { errors: RunError[]; counts: Record<string, number>; resolved: number; recorder: FindingRecorder; lister: GatewayLister; durationMs: number }): Promise<ReconciliationRun> {
    const { errors, recorder, lister } = result;
    const status = errors.length === 0 ? ReconciliationRunStatus.SUCCEEDED : errors.length === this.checks.length ? ReconciliationRunStatus.FAILED : ReconciliationRunStatus.PARTIAL;
    return this.db.transaction(async (tx) => {
      const run = await tx.em.findOneOrFail(ReconciliationRun, runId, { lockMode: LockMode.PESSIMISTIC_WRITE });
      // Closed meanwhile as a dead run (its heartbeat stopped for minutes): that close was audited.
      const wasRunning = run.status === ReconciliationRunStatus.RUNNING;
      Object.assign(run, countsOf(recorder), result.counts, {
        status,
        errors,
        finishedAt: tx.clock.now(),
        durationMs: result.durationMs,
        apiCalls: lister.meter.calls,
        rateLimited: lister.meter.rateLimited,
        alertsRaised: recorder.alertsRaised,
        alertsResolved: result.resolved,
      });
      if (errors.length > 0) {
        await this.alerts.raise(tx, {
          type: AlertType.RECONCILIATION_FAILED,
          severity: AlertSeverity.HIGH,
          title: `Reconciliation ${status === ReconciliationRunStatus.FAILED ? 'failed' : 'incomplete'}: ${errors.map((e) => e.check).join(', ')}`,
          detail: `Run ${runId}: ${errors.map((e) => `${e.check}: ${e.message}`).join('; ')}`,
          subjectType: 'reconciliation',
          subjectId: 'nightly',
        });
      }
      if (requester && wasRunning) auditRun(tx, requester, run);
      this.logger.info({ runId, status, apiCalls: run.apiCalls, rateLimited: run.rateLimited, durationMs: run.durationMs, alertsRaised: run.alertsRaised, alertsResolved: run.alertsResolved }, 'reconciliation run finished');
      return run;
    });
  }

  private async beat(runId: string): Promise<void> {
    await this.db.fork().execute(`update reconciliation_runs set heartbeat_at = ? where id = ? and status = 'RUNNING'`, [this.db.clock.now(), runId]).catch(() => undefined);
  }

  /** Something outside the checks failed (the database): the run must not stay RUNNING. */
  private async abandon(runId: string, requester: Actor | null, error: unknown): Promise<void> {
    const errors = [{ check: 'run', message: (error as Error).message ?? String(error) }];
    await this.db
      .transaction(async (tx) => {
        const run = await tx.em.findOne(ReconciliationRun, { id: runId, status: ReconciliationRunStatus.RUNNING }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!run) return;
        Object.assign(run, { status: ReconciliationRunStatus.FAILED, finishedAt: tx.clock.now(), errors });
        if (requester) auditRun(tx, requester, run);
      })
      .catch(() => undefined);
  }

  /** Runs of a process that died are closed FAILED; one someone asked for gets its audit entry then. */
  private async closeStale(): Promise<void> {
    const cutoff = new Date(this.db.clock.now().getTime() - STALE_AFTER_MS);
    await this.db.transaction(async (tx) => {
      // One statement: of two instances starting at once, only one closes (and audits) a dead run.
      const closed = await tx.em.execute<Array<{ id: string; trigger: string }>>(
        `update reconciliation_runs set status = 'FAILED', finished_at = ?, errors = ?::jsonb where status = 'RUNNING' and heartbeat_at < ? returning id, trigger`,
        [tx.clock.now(), JSON.stringify([{ check: 'run', message: 'the process running it stopped (no heartbeat)' }]), cutoff],
      );
      for (const row of closed.filter((r) => r.trigger !== 'job')) {
        const run = await tx.em.findOneOrFail(ReconciliationRun, row.id, { refresh: true });
        auditRun(tx, { id: row.trigger }, run);
      }
    });
  }
}

const triggerOf = (trigger: string | Actor): string => (typeof trigger === 'string' ? trigger : trigger.id);
const requesterOf = (trigger: string | Actor): Actor | null => (typeof trigger === 'string' ? null : trigger);

/** One `reconciliation.run` entry for a run someone asked for: how it ended and what it found. */
function auditRun(tx: Tx, actor: Actor, run: ReconciliationRun): void {
  recordAudit(tx, actor, {
    action: 'reconciliation.run',
    subjectType: 'reconciliation_run',
    subjectId: run.id,
    before: { status: ReconciliationRunStatus.RUNNING },
    after: {
      status: run.status,
      windowStart: run.windowStart.toISOString(),
      windowEnd: run.windowEnd.toISOString(),
      paymentsChecked: run.paymentsChecked,
      outOfSync: run.outOfSync,
      stuckAuthorizations: run.stuckAuthorizations,
      failedPayouts: run.failedPayouts,
      payoutStatusChanges: run.payoutStatusChanges,
      missingPayments: run.missingPayments,
      unknownGatewayPayments: run.unknownGatewayPayments,
      noShowsReleased: run.noShowsReleased,
      missedWebhooks: run.missedWebhooks,
      alertsRaised: run.alertsRaised,
      alertsResolved: run.alertsResolved,
      apiCalls: run.apiCalls,
      errors: run.errors.length,
    },
    note: run.errors.length > 0 ? run.errors.map((e) => `${e.check}: ${e.message}`).join('; ').slice(0, 1000) : null,
  });
}
