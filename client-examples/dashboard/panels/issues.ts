import type { DashboardIssueFragment } from '../../gql/graphql';
import { DashboardCapturePaymentDocument, DashboardPaymentIssuesDocument, DashboardSyncPaymentDocument } from '../../gql/graphql';
import type { Api } from '../api';
import { ago, el, money, replaceChildren, shortId } from '../dom';
import { actionButton, panel, table, type Toasts } from '../ui';

/** Alert types whose rows this panel shows: a raise or resolve of one of them re-reads it. */
/** Per list; two lists of 25 stay under the server's query complexity limit (1,000). */
const ISSUES_SHOWN = 25;

const HOLD_END = new Intl.DateTimeFormat('en', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

export const ISSUE_ALERT_TYPES = new Set(['PAYMENT_OUT_OF_SYNC', 'STUCK_AUTHORIZATION']);

/**
 * Payments whose money state disagrees with their gateway's (Stripe or Cashfree), and
 * authorizations about to lapse. Sync brings our record to the gateway's state; Capture takes an
 * authorized (Stripe) payment's money.
 */
export class IssuesPanel {
  private readonly body = el('div');
  readonly element = panel('Out of sync with the gateway, or stuck', 'issues', this.body);

  constructor(
    private readonly api: Api,
    private readonly toasts: Toasts,
  ) {}

  async refresh(): Promise<void> {
    const { outOfSyncPayments, stuckAuthorizations } = await this.api.run(DashboardPaymentIssuesDocument, { first: ISSUES_SHOWN });
    this.render([...outOfSyncPayments.edges, ...stuckAuthorizations.edges].map((e) => e.node));
  }

  private async act(label: string, paymentId: string, run: () => Promise<{ status: string }>): Promise<void> {
    try {
      const payment = await run();
      this.toasts.info(`${label} ${shortId(paymentId)}: now ${payment.status}`);
    } catch (error) {
      this.toasts.error(error, `${label} ${shortId(paymentId)} failed`);
    }
    await this.refresh();
  }

  private render(issues: DashboardIssueFragment[]): void {
    const rows = issues.map((issue) => {
      const payment = issue.payment;
      const actions = payment
        ? [
            payment.status === 'AUTHORIZED' &&
              actionButton('Capture', () => this.act('Capture', payment.id, async () => (await this.api.run(DashboardCapturePaymentDocument, { paymentId: payment.id })).capturePayment), { 'aria-label': `Capture payment ${payment.id}` }),
            actionButton('Sync', () => this.act('Sync', payment.id, async () => (await this.api.run(DashboardSyncPaymentDocument, { paymentId: payment.id })).syncPaymentWithGateway), { 'aria-label': `Sync payment ${payment.id}` }),
          ]
        : [];
      return el('tr', { 'data-alert-id': issue.alert.id, 'data-payment-id': payment?.id ?? '' },
        el('td', {}, el('span', { class: 'badge' }, issue.alert.type === 'STUCK_AUTHORIZATION' ? 'stuck authorization' : 'out of sync')),
        el('td', {}, payment ? el('code', { title: payment.id }, shortId(payment.id)) : '–'),
        el('td', {}, payment ? money(payment.amountMinor, payment.currency) : '–'),
        el('td', {}, payment?.status ?? '–'),
        el('td', {}, payment ? `${payment.gateway.toLowerCase()}: ` : '', issue.gatewayStatus ?? '–'),
        el('td', {}, issue.captureBefore ? `hold ends ${HOLD_END.format(new Date(issue.captureBefore))}` : ago(issue.alert.createdAt)),
        el('td', {}, el('div', { class: 'actions' }, ...actions.filter((a): a is HTMLButtonElement => Boolean(a)))));
    });
    replaceChildren(this.body, [table(['Issue', 'Payment', 'Amount', 'Ours', 'Gateway', 'When', ''], rows, 'Nothing out of sync.')]);
  }
}
