import type { AlertSeverity, DashboardAlertFragment, DashboardSnapshotQuery } from '../../gql/graphql';
import { DashboardResolveAlertDocument } from '../../gql/graphql';
import type { Api } from '../api';
import { ago, el, replaceChildren } from '../dom';
import { actionButton, panel, type Toasts } from '../ui';

const SEVERITIES: AlertSeverity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO'];
/** An alert storm must not grow the page without bound: the worst this many are shown. */
const MAX_SHOWN = 100;
const RANK = Object.fromEntries(SEVERITIES.map((s, i) => [s, SEVERITIES.length - i])) as Record<AlertSeverity, number>;

/**
 * Open alerts, worst first, with a Resolve button. alertRaised adds a row and alertResolved
 * removes one, whoever resolved it; the counts per severity are the server's (alertSummary).
 */
export class AlertsPanel {
  private readonly alerts = new Map<string, DashboardAlertFragment>();
  private counts = new Map<AlertSeverity, number>();
  private totalOpen = 0;
  private readonly summary = el('div', { class: 'severity-counts' });
  private readonly list = el('div', { class: 'alert-list' });
  readonly element = panel('Open alerts', 'alerts', this.summary, this.list);

  constructor(
    private readonly api: Api,
    private readonly toasts: Toasts,
  ) {}

  load(snapshot: Pick<DashboardSnapshotQuery, 'alertSummary' | 'alerts'>): void {
    this.alerts.clear();
    for (const edge of snapshot.alerts.edges) this.alerts.set(edge.node.id, edge.node);
    this.setCounts(snapshot.alertSummary);
  }

  setCounts(summary: DashboardSnapshotQuery['alertSummary']): void {
    this.counts = new Map(summary.bySeverity.map((s) => [s.severity, s.count]));
    this.totalOpen = summary.totalOpen;
    this.render();
  }

  raised(alert: DashboardAlertFragment): void {
    this.alerts.set(alert.id, alert);
    this.render();
  }

  resolved(alertId: string): void {
    if (this.alerts.delete(alertId)) this.render();
  }

  private async resolve(alert: DashboardAlertFragment): Promise<void> {
    try {
      const { resolveAlert } = await this.api.run(DashboardResolveAlertDocument, { id: alert.id, note: 'resolved from the dashboard' });
      this.resolved(resolveAlert.id);
      this.toasts.info(`Resolved: ${alert.title}`);
    } catch (error) {
      this.toasts.error(error, 'Resolve failed');
    }
  }

  private render(): void {
    replaceChildren(
      this.summary,
      SEVERITIES.map((severity) =>
        el('span', { class: `badge sev-${severity.toLowerCase()}`, 'data-severity': severity }, `${severity} `, el('strong', {}, this.counts.get(severity) ?? 0)),
      ),
    );
    const sorted = [...this.alerts.values()].sort((a, b) => RANK[b.severity] - RANK[a.severity] || b.createdAt.localeCompare(a.createdAt)).slice(0, MAX_SHOWN);
    replaceChildren(this.list, [
      ...sorted.map((alert) =>
        el(
          'article',
          { class: `alert sev-${alert.severity.toLowerCase()}`, 'data-alert-id': alert.id },
          el('div', { class: 'alert-head' },
            el('span', { class: `badge sev-${alert.severity.toLowerCase()}` }, alert.severity),
            el('span', { class: 'alert-type' }, alert.type),
            alert.occurrences > 1 && el('span', { class: 'occurrences', title: 'times seen while open' }, `×${alert.occurrences}`),
            el('time', { datetime: alert.createdAt, title: alert.createdAt }, ago(alert.createdAt))),
          el('h3', {}, alert.title),
          el('p', { class: 'detail' }, alert.detail),
          el('div', { class: 'alert-foot' },
            alert.subjectId ? el('code', {}, `${alert.subjectType ?? 'subject'} ${alert.subjectId}`) : el('span'),
            actionButton('Resolve', () => this.resolve(alert), { 'aria-label': `Resolve alert: ${alert.title}` })),
        ),
      ),
      sorted.length === 0 ? el('p', { class: 'empty' }, 'No open alerts.') : null,
      Math.max(this.totalOpen, this.alerts.size) > sorted.length ? el('p', { class: 'more' }, `Showing the worst ${sorted.length} of ${Math.max(this.totalOpen, this.alerts.size)} open alerts.`) : null,
    ]);
  }
}
