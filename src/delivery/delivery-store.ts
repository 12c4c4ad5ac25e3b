import type { EntityManager } from '@mikro-orm/postgresql';
import type { DeliveryStatus } from './delivery-status';

/** A delivery row as the hand-written statements return it. */
export interface DeliveryRow {
  payment_id: string;
  status: DeliveryStatus;
  attempts: number;
  failure_reason: string | null;
  next_attempt_at: Date | null;
  recovered: boolean;
  access_revoked_at: Date | null;
}

const RETURNING = 'returning d.payment_id, d.status, d.attempts, d.failure_reason, d.next_attempt_at, d.recovered, d.access_revoked_at';

const CLAIMABLE = `d.status in ('PENDING', 'IN_PROGRESS')`;

/**
 * The sweep's claim (exported so the sweep bench can EXPLAIN exactly this statement). `(select ?)`
 * hides the time from the planner on purpose: with it in plain sight, Postgres multiplies the
 * selectivity of "due" by that of the status (the two are correlated: only open rows have a next
 * attempt), expects a few dozen rows and sorts every due row instead of reading the first `limit`
 * in index order. With 10,000 due rows that was 60 ms instead of 6.
 */
export function claimDueSql(via: 'sweep' | 'startup'): string {
  const freshToo = via === 'startup' ? `or (d.status = 'PENDING' and d.attempts = 0)` : '';
  return `update deliveries set status = 'IN_PROGRESS', next_attempt_at = ?, updated_at = ?
        where payment_id in (select d.payment_id from deliveries d where ${CLAIMABLE} and (d.next_attempt_at <= (select ?::timestamptz) ${freshToo})
                      order by d.next_attempt_at limit ? for update skip locked)
        returning payment_id as id`;
}

/** One round trip: the row moves to IN_PROGRESS with our lease end, or nothing (done, or claimed elsewhere). */
export async function claimOneRow(em: EntityManager, paymentId: string, leaseUntil: Date, now: Date, fresh: boolean): Promise<boolean> {
  const freshToo = fresh ? `or (d.status = 'PENDING' and d.attempts = 0)` : '';
  const rows: unknown[] = await em.execute(
    `update deliveries d set status = 'IN_PROGRESS', next_attempt_at = ?, updated_at = ?
      where d.payment_id = ? and ${CLAIMABLE} and (d.next_attempt_at <= ? ${freshToo}) returning d.payment_id`,
    [leaseUntil, now, paymentId, now],
  );
  return rows.length > 0;
}

/**
 * Confirms our claim (the lease end we wrote identifies it), moving its end to `renewTo` when
 * given; answers whether access was revoked meanwhile, or null when the claim is lost.
 */
export async function confirmClaim(em: EntityManager, paymentId: string, leaseUntil: Date, renewTo: Date | null, now: Date): Promise<{ revoked: boolean } | null> {
  const rows: Array<{ access_revoked_at: Date | null }> = renewTo
    ? await em.execute(
        `update deliveries d set next_attempt_at = ?, updated_at = ? where d.payment_id = ? and d.status = 'IN_PROGRESS' and d.next_attempt_at = ? returning d.access_revoked_at`,
        [renewTo, now, paymentId, leaseUntil],
      )
    : await em.execute(`select d.access_revoked_at from deliveries d where d.payment_id = ? and d.status = 'IN_PROGRESS' and d.next_attempt_at = ?`, [paymentId, leaseUntil]);
  return rows.length > 0 ? { revoked: rows[0].access_revoked_at !== null } : null;
}

export interface OutcomeWrite {
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
  reason: string | null;
  deliveredAt: Date | null;
  recovered: boolean;
}

/**
 * Records an attempt's outcome in one statement, only while our claim holds. Access revoked
 * while the attempt ran (a refund) turns any outcome but a delivery into FAILED: nothing more is
 * owed. A delivery stays DELIVERED, with the revocation beside it.
 */
export async function recordOutcomeRow(em: EntityManager, paymentId: string, leaseUntil: Date, now: Date, w: OutcomeWrite): Promise<DeliveryRow | null> {
  const cancelled = `d.access_revoked_at is not null and v.status <> 'DELIVERED'`;
  const rows: DeliveryRow[] = await em.execute(
    `with v (status, next_at, reason, delivered_at, recovered) as (values (?::text, ?::timestamptz, ?::text, ?::timestamptz, ?::boolean))
     update deliveries d set
        status = case when ${cancelled} then 'FAILED' else v.status end,
        next_attempt_at = case when ${cancelled} then null else v.next_at end,
        failure_reason = case when ${cancelled} then d.access_revoked_reason || ' before delivery' else v.reason end,
        delivered_at = coalesce(v.delivered_at, d.delivered_at), recovered = case when v.status = 'DELIVERED' then v.recovered else d.recovered end,
        attempts = d.attempts + 1, last_attempt_at = ?, updated_at = ?
       from v where d.payment_id = ? and d.status = 'IN_PROGRESS' and d.next_attempt_at = ?
     ${RETURNING}`,
    [w.status, w.nextAttemptAt, w.reason, w.deliveredAt, w.recovered, now, now, paymentId, leaseUntil],
  );
  return rows[0] ?? null;
}

/**
 * The payment stopped granting access (refunded, cancelled): the revocation is stamped; a delivery
 * not under way (PENDING, AWAITING_CUSTOMER) owes nothing more and is FAILED. One under way is
 * left to its worker, which records what really happened (see recordOutcomeRow). Answers the
 * status before and the row after, or null when the payment has no delivery.
 */
export async function revokeRow(em: EntityManager, paymentId: string, revokedReason: string, now: Date): Promise<{ before: DeliveryStatus; row: DeliveryRow } | null> {
  const idle = `o.before in ('PENDING', 'AWAITING_CUSTOMER')`;
  const rows: Array<DeliveryRow & { before: DeliveryStatus }> = await em.execute(
    `update deliveries d set
        status = case when ${idle} then 'FAILED' else d.status end,
        next_attempt_at = case when ${idle} then null else d.next_attempt_at end,
        failure_reason = case when ${idle} then ? else d.failure_reason end,
        access_revoked_at = coalesce(d.access_revoked_at, ?), access_revoked_reason = coalesce(d.access_revoked_reason, ?), updated_at = ?
       from (select status as before from deliveries where payment_id = ? for update) o
      where d.payment_id = ?
     ${RETURNING}, o.before`,
    [`${revokedReason} before delivery`, now, revokedReason, now, paymentId, paymentId],
  );
  return rows[0] ? { before: rows[0].before, row: rows[0] } : null;
}

/** AWAITING_CUSTOMER deliveries of a customer become due now (they can be reached). */
export async function wakeRows(em: EntityManager, customerId: string, now: Date): Promise<DeliveryRow[]> {
  return em.execute(
    `update deliveries d set status = 'PENDING', next_attempt_at = ?, updated_at = ? from payments p
      where p.id = d.payment_id and p.customer_id = ? and d.status = 'AWAITING_CUSTOMER' ${RETURNING}`,
    [now, now, customerId],
  );
}

/** Served by deliveries_due. */
export async function nextDueAt(em: EntityManager, paidBefore: Date): Promise<Date | null> {
  const rows: Array<{ at: Date | string }> = await em.execute(
    `select d.next_attempt_at as at from deliveries d where ${CLAIMABLE} and d.next_attempt_at is not null
      and coalesce(d.paid_at, d.created_at) <= ? order by d.next_attempt_at limit 1`,
    [paidBefore],
  );
  return rows[0] ? new Date(rows[0].at) : null;
}

export async function readRow(em: EntityManager, paymentId: string): Promise<DeliveryRow | null> {
  const rows: DeliveryRow[] = await em.execute(`select ${RETURNING.slice('returning '.length)} from deliveries d where d.payment_id = ?`, [paymentId]);
  return rows[0] ?? null;
}
