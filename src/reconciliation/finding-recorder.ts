import { fingerprintOf, type AlertService } from '../alerts/alert.service';
import type { Database } from '../platform/database/transaction';
import type { Finding, FindingSink, ResolveScope } from './checks/check.types';
import { FindingType, ReconciliationFinding } from './reconciliation-finding.entity';

const COMPONENT = 'reconciliation';
const RESOLVE_BATCH = 100;

/**
 * Stores a run's findings with their alerts, page by page (one transaction per page), and keeps
 * what the run's end needs: counts per finding type, how many alerts were new, and the
 * fingerprints found true this run — an open alert of a checked kind missing from that set has
 * gone and is resolved with a note.
 */
export class FindingRecorder implements FindingSink {
  readonly counts = new Map<FindingType, number>();
  alertsRaised = 0;
  private readonly stillTrue = new Set<string>();

  constructor(
    private readonly db: Database,
    private readonly alerts: AlertService,
    private readonly runId: string,
  ) {}

  async record(findings: Finding[]): Promise<void> {
    if (findings.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (const finding of findings) {
        const raised = finding.raise ? await this.alerts.raise(tx, finding.raise) : null;
        const alert = raised ? { id: raised.alert.id, created: raised.created, fingerprint: fingerprintOf(finding.raise!) } : finding.raised;
        tx.em.create(ReconciliationFinding, {
          run: this.runId,
          type: finding.type,
          subjectType: finding.subjectType,
          subjectId: finding.subjectId,
          detail: finding.detail.slice(0, 2000),
          action: finding.action,
          alertId: alert?.id ?? null,
          newAlert: alert?.created ?? false,
          data: finding.data ?? null,
        });
        if (alert) this.stillTrue.add(alert.fingerprint);
        if (alert?.created) this.alertsRaised++;
      }
    });
    for (const finding of findings) this.counts.set(finding.type, (this.counts.get(finding.type) ?? 0) + 1);
  }

  count(type: FindingType): number {
    return this.counts.get(type) ?? 0;
  }

  /** Resolves open alerts of the scopes' types about examined subjects that this run did not find. */
  async resolveGone(scopes: ResolveScope[]): Promise<number> {
    if (scopes.length === 0) return 0;
    const open = await this.alerts.openOfTypes(this.db.fork(), [...new Set(scopes.map((s) => s.alertType))]);
    const gone = open.flatMap((alert) => {
      const scope = scopes.find((s) => s.alertType === alert.type && (!s.subjectType || s.subjectType === alert.subjectType) && alert.subjectId !== null && s.examined(alert.subjectId));
      return scope && !this.stillTrue.has(alert.fingerprint) ? [{ fingerprint: alert.fingerprint, note: `Reconciliation run ${this.runId}: ${scope.note}.` }] : [];
    });
    let resolved = 0;
    for (let i = 0; i < gone.length; i += RESOLVE_BATCH) {
      await this.db.transaction(async (tx) => {
        for (const { fingerprint, note } of gone.slice(i, i + RESOLVE_BATCH)) {
          if (await this.alerts.resolveByFingerprint(tx, fingerprint, note, COMPONENT)) resolved++;
        }
      });
    }
    return resolved;
  }
}
