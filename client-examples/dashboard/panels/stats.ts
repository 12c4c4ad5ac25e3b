import type { DashboardStatsFragment } from '../../gql/graphql';
import { el, percent, replaceChildren } from '../dom';
import { panel } from '../ui';

/** Delivery recovery at a glance; fed by the snapshot and by recoveryStatsUpdated. */
export class StatsPanel {
  private readonly body = el('div', { class: 'stats' });
  readonly element = panel('Delivery recovery', 'stats', this.body);

  render(stats: DashboardStatsFragment): void {
    const tile = (label: string, value: string | number, tone = '') =>
      el('div', { class: `tile ${tone}`, 'data-stat': label }, el('div', { class: 'value' }, value), el('div', { class: 'label' }, label));
    replaceChildren(this.body, [
      tile('Paid payments', stats.successfulPayments),
      tile('Delivered', stats.delivered, 'good'),
      tile('Pending delivery', stats.pendingDeliveries),
      tile('Failed delivery', stats.failedDeliveries, stats.failedDeliveries > 0 ? 'bad' : ''),
      tile('Awaiting customer', stats.awaitingCustomer, stats.awaitingCustomer > 0 ? 'warn' : ''),
      tile('Recovered', stats.recovered),
      tile('Delivery success', percent(stats.deliverySuccessRate)),
      tile('p95 to delivery', stats.p95SecondsToDelivery === null || stats.p95SecondsToDelivery === undefined ? '–' : `${stats.p95SecondsToDelivery.toFixed(1)} s`),
    ]);
  }
}
