import type { DashboardAwaitingVerificationQuery } from '../../gql/graphql';
import { DashboardAwaitingVerificationDocument } from '../../gql/graphql';
import type { Api } from '../api';
import { ago, el, replaceChildren, shortId } from '../dom';
import { panel, table } from '../ui';

type Page = DashboardAwaitingVerificationQuery['customersAwaitingVerification'];

/**
 * Customers who tried to pay for a plan that requires verification (KYC, e-sign) and are not
 * VERIFIED: still PENDING at the provider, or REJECTED (with the reason). Newest session first.
 */
export class VerificationPanel {
  private readonly body = el('div');
  readonly element = panel('Blocked on verification', 'verification', this.body);

  constructor(private readonly api: Api) {}

  async refresh(): Promise<void> {
    const { customersAwaitingVerification } = await this.api.run(DashboardAwaitingVerificationDocument, { first: 50 });
    this.render(customersAwaitingVerification);
  }

  private render(page: Page): void {
    const rows = page.edges.map(({ node }) =>
      el('tr', { 'data-customer-id': node.customer.id },
        el('td', {}, el('code', { title: node.customer.id }, shortId(node.customer.id)), node.customer.name ? ` ${node.customer.name}` : ''),
        el('td', {}, node.plan ? `${node.plan.name}${node.plan.termsVersion ? ` (terms ${node.plan.termsVersion})` : ''}` : '–'),
        el('td', {}, el('span', { class: `badge ${node.verification.status === 'REJECTED' ? 'bad' : 'warn'}` }, node.verification.status), node.verification.overridden ? ' (operator)' : ''),
        el('td', {}, node.verification.reason ?? ''),
        el('td', { title: node.blockedAt }, ago(node.blockedAt))),
    );
    replaceChildren(this.body, [
      el('p', { class: 'summary' }, `${page.totalCount} customer(s) blocked at checkout`),
      table(['Customer', 'Plan', 'Verification', 'Reason', 'Last refused'], rows, 'Nobody is blocked on verification.'),
    ]);
  }
}
