import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * What Recoup did itself, as its own records show it: a gateway event that only echoes one of
 * these (a cancellation or refund we asked for) is news to nobody and raises no alert, whatever
 * order the event and our write arrive in and whatever the event's own fields say.
 */

/** The audit action written, and committed, before Recoup asks Stripe to cancel an authorization. */
export const RELEASE_REQUESTED = 'payment.release.request';

/** Whether Recoup itself asked Stripe to cancel this payment's authorization. */
export async function isOwnRelease(em: Pick<EntityManager, 'execute'>, paymentId: string): Promise<boolean> {
  const rows: unknown[] = await em.execute(`select 1 from audit_entries where subject_type = 'payment' and subject_id = ? and action = ? limit 1`, [paymentId, RELEASE_REQUESTED]);
  return rows.length > 0;
}

/** The audit action written in the transaction that decided to refund a late payment (LatePayments), before Stripe is asked. */
export const LATE_REFUND_REQUESTED = 'payment.refund.late';

/**
 * What Recoup has refunded of this payment, or asked Stripe to refund: an operator's refunds (a
 * Refund row commits PENDING before Stripe is called) and a late payment's refund (its audit
 * entry). A refund event whose total is within it is our own refund's echo.
 */
export async function ownRefundedMinor(em: Pick<EntityManager, 'execute'>, paymentId: string): Promise<number> {
  const rows: Array<{ total: number }> = await em.execute(
    `select coalesce((select sum(amount_minor) from refunds where payment_id = ? and status in ('PENDING', 'SUCCEEDED')), 0)
          + coalesce((select sum((after->>'amountMinor')::int) from audit_entries where subject_type = 'payment' and subject_id = ? and action = ?), 0) as total`,
    [paymentId, paymentId, LATE_REFUND_REQUESTED],
  );
  return Number(rows[0]?.total ?? 0);
}
