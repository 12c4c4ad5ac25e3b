import type { DashboardPendingPaymentsQuery } from '../../gql/graphql';
import { DashboardPendingPaymentsDocument } from '../../gql/graphql';
import type { Api } from '../api';
import { el, money, replaceChildren, shortId } from '../dom';
import { panel, table } from '../ui';

type Page = DashboardPendingPaymentsQuery['pendingPayments'];

/** Open checkouts, oldest first as the server orders them; stale ones are expired by the cleanup job. */
export class PendingPanel {
  private readonly body = el('div');
  readonly element = panel('Pending payments', 'pending', this.body);

  constructor(private readonly api: Api) {}

  async refresh(): Promise<void> {
    const { pendingPayments } = await this.api.run(DashboardPendingPaymentsDocument, { first: 50 });
    this.render(pendingPayments);
  }

  private render(page: Page): void {
    const rows = page.edges.map(({ node }) =>
      el('tr', { 'data-payment-id': node.payment.id },
        el('td', {}, el('code', { title: node.payment.id }, shortId(node.payment.id))),
        el('td', {}, el('code', { title: node.payment.customerId }, shortId(node.payment.customerId))),
        el('td', {}, money(node.payment.amountMinor, node.payment.currency)),
        el('td', {}, node.payment.status),
        el('td', { class: 'num' }, `${node.ageMinutes} min`),
        el('td', {}, node.stale ? el('span', { class: 'badge warn' }, 'stale') : `${node.minutesRemaining} min left`)),
    );
    replaceChildren(this.body, [
      el('p', { class: 'summary' }, `${page.summary.total} open · ${page.summary.active} active · ${page.summary.stale} stale`),
      table(['Payment', 'Customer', 'Amount', 'Status', 'Age', 'Expires'], rows, 'No pending payments.'),
    ]);
  }
}
