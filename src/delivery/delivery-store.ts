import type { EntityManager } from '@mikro-orm/postgresql';
import { LeaseQueue, type SqlExecutor } from '../platform/jobs/lease-queue';
import type { BackoffPolicy } from '../platform/shared/backoff';
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
/** Owed and never attempted: a dispatch (or, at start-up, the sweep) takes it before it is due. */
const FRESH = `status = 'PENDING' and attempts = 0`;

/**
 * Deliveries as a lease queue: due and lease in next_attempt_at, claimable while PENDING or
 * IN_PROGRESS (a lease that ran out is due again), and a claim moves the row to IN_PROGRESS.
 * Attempts are counted when the outcome is recorded (recordOutcomeRow), which also plans the
 * retry; the queue's backoff is DELIVERY_BACKOFF_* with the shared jitter.
 */
export function deliveryQueue(leaseMs: number, backoff: BackoffPolicy): LeaseQueue {
  return new LeaseQueue({
    table: 'deliveries',
    idColumn: 'payment_id',
    attemptsColumn: null,
    ready: `status in ('PENDING', 'IN_PROGRESS')`,
    claimSet: `status = 'IN_PROGRESS'`,
    opaqueNow: true,
    leaseMs,
    backoff,
  });
}

/**
 * The sweep's claim: up to `limit` due rows, oldest due first, FOR UPDATE SKIP LOCKED (instances
 * sweeping together take different rows). At start-up fresh PENDING rows are taken at once.
 */
export async function claimDueRows(queue: LeaseQueue, db: SqlExecutor, limit: number, via: 'sweep' | 'startup', now: Date): Promise<string[]> {
  const rows = (await queue.claim(db, { now, limit, ...(via === 'startup' ? { orDue: FRESH } : {}) })) as unknown as Array<{ payment_id: string }>;
  return rows.map((row) => row.payment_id);
}

/** The sweep's claim statement as it runs (the sweep bench EXPLAINs exactly this), with `?` placeholders. */
export async function claimDueSql(queue: LeaseQueue, via: 'sweep' | 'startup'): Promise<string> {
  let sql = '';
  await claimDueRows(queue, { execute: async (statement: string) => ((sql = statement), []) }, 200, via, new Date());
  return sql;
}

/** One round trip: the row moves to IN_PROGRESS with our lease end, or nothing (done, or claimed elsewhere). */
export async function claimOneRow(queue: LeaseQueue, db: SqlExecutor, paymentId: string, now: Date, fresh: boolean): Promise<boolean> {
  const rows = await queue.claim(db, { now, limit: 1, ids: [paymentId], ...(fresh ? { orDue: FRESH } : {}) });
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
