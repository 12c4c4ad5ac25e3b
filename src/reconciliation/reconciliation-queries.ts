import type { EntityManager } from '@mikro-orm/postgresql';
import { Alert } from '../alerts/alert.entity';
import type { AlertType } from '../alerts/alert.types';
import type { Connection, ConnectionArgs } from '../platform/graphql/connection';
import { paginate } from '../platform/graphql/connection';
import { Payment } from '../payments/payment.entity';
import { ReconciliationFinding } from './reconciliation-finding.entity';
import type { PaymentIssue } from './reconciliation.types';

const dateOr = (value: unknown): Date | null => (typeof value === 'string' ? new Date(value) : null);

/**
 * Open reconciliation alerts of one type about payments (out of sync, stuck authorizations), newest
 * first, each with its payment and the latest finding: three queries a page, whatever its size.
 */
export async function paymentIssues(em: EntityManager, type: AlertType, page: ConnectionArgs): Promise<Connection<PaymentIssue>> {
  const alerts = await paginate(em, Alert, { type, resolvedAt: null, subjectType: 'payment' }, page);
  const ids = alerts.edges.flatMap((e) => (e.node.subjectId ? [e.node.subjectId] : []));
  const [payments, findings] = ids.length === 0 ? [[], []] : await Promise.all([
    em.find(Payment, { id: { $in: ids } }),
    em.find(ReconciliationFinding, { subjectId: { $in: ids }, type: type as string as ReconciliationFinding['type'] }, { orderBy: { createdAt: 'desc' } }),
  ]);
  const paymentById = new Map(payments.map((p) => [p.id, p]));
  const latest = new Map<string, ReconciliationFinding>();
  for (const finding of findings) if (!latest.has(finding.subjectId)) latest.set(finding.subjectId, finding);
  return {
    ...alerts,
    edges: alerts.edges.map(({ node, cursor }) => {
      const finding = (node.subjectId && latest.get(node.subjectId)) || null;
      return {
        cursor,
        node: {
          alert: node,
          payment: (node.subjectId && paymentById.get(node.subjectId)) || null,
          finding,
          gatewayStatus: (finding?.data?.gatewayStatus as string | undefined) ?? null,
          captureBefore: dateOr(finding?.data?.captureBefore),
        },
      };
    }),
  };
}
