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
export async function recordOutcomeRow(em: EntityManager, paymentId: string, leaseUntil: Date, now: Date, w: OutcomeWrite, options: { lockPayment?: boolean } = {}): Promise<DeliveryRow | null> {
  const cancelled = `d.access_revoked_at is not null and v.status <> 'DELIVERED'`;
  // lockPayment: first wait for the payment's row lock (FOR SHARE), in the same statement; an
  // event still being applied to the payment commits first, and the UPDATE then sees what it wrote.
  const lock = options.lockPayment ? `, locked as (select id from payments where id = ? for share)` : '';
  const rows: DeliveryRow[] = await em.execute(
    `with v (status, next_at, reason, delivered_at, recovered) as (values (?::text, ?::timestamptz, ?::text, ?::timestamptz, ?::boolean))${lock}
     update deliveries d set
        status = case when ${cancelled} then 'FAILED' else v.status end,
        next_attempt_at = case when ${cancelled} then null else v.next_at end,
        failure_reason = case when ${cancelled} then d.access_revoked_reason || ' before delivery' else v.reason end,
        delivered_at = coalesce(v.delivered_at, d.delivered_at), recovered = case when v.status = 'DELIVERED' then v.recovered else d.recovered end,
        attempts = d.attempts + 1, last_attempt_at = ?, updated_at = ?
       from v${options.lockPayment ? ', locked' : ''} where d.payment_id = ?${options.lockPayment ? ' and locked.id = d.payment_id' : ''} and d.status = 'IN_PROGRESS' and d.next_attempt_at = ?
     ${RETURNING}`,
    [w.status, w.nextAttemptAt, w.reason, w.deliveredAt, w.recovered, ...(options.lockPayment ? [paymentId] : []), now, now, paymentId, leaseUntil],
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

/**
 * The payment grants access again (a dispute won): a delivery whose access was taken back is owed
 * afresh, whatever became of it (PENDING, attempts 0, due at `due`, the revocation and the failure
 * cleared). Answers the status before and the row after, or null when there is no such delivery.
 */
export async function reopenRevokedRow(em: EntityManager, paymentId: string, due: Date, now: Date): Promise<{ before: DeliveryStatus; row: DeliveryRow } | null> {
  const rows: Array<DeliveryRow & { before: DeliveryStatus }> = await em.execute(
    `update deliveries d set status = 'PENDING', attempts = 0, next_attempt_at = ?, failure_reason = null,
        access_revoked_at = null, access_revoked_reason = null, updated_at = ?
       from (select status as before from deliveries where payment_id = ? for update) o
      where d.payment_id = ? and d.access_revoked_at is not null
     ${RETURNING}, o.before`,
    [due, now, paymentId, paymentId],
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

/** A channel of the payment's bundle, as an attempt needs it. */
export interface AttemptChannel {
  id: string;
  telegramChatId: string;
  title: string;
  requiresApproval: boolean;
}

/** A live (not revoked) invite link already stored for the payment. */
export interface StoredLink {
  id: string;
  channelId: string;
  url: string;
  expiresAt: Date;
  usedAt: Date | null;
}

interface AttemptColumns {
  id: string;
  customer_id: string;
  paid_at: Date;
  attempts: number | null;
  access_revoked_at: Date | null;
  telegram_user_id: string | null;
  plan_name: string;
  duration_days: number;
  channels: AttemptChannel[];
  /** json_agg: the times are strings. */
  links: Array<Omit<StoredLink, 'expiresAt' | 'usedAt'> & { expiresAt: string; usedAt: string | null }>;
}

/** Everything one delivery attempt reads, in one statement. */
export interface AttemptRead {
  paymentId: string;
  customerId: string;
  /** When the payment was paid (or, failing that, created): the access period runs from it. */
  paidAt: Date;
  attempts: number;
  accessRevokedAt: Date | null;
  telegramUserId: string | null;
  planName: string;
  durationDays: number;
  channels: AttemptChannel[];
  links: StoredLink[];
}

/**
 * The payment, its delivery row, customer, plan, bundle channels (by title) and live invite links
 * of one attempt: one round trip instead of one per entity. Null when the payment does not exist.
 */
export async function readAttempt(em: EntityManager, paymentId: string): Promise<AttemptRead | null> {
  const rows: AttemptColumns[] = await em.execute(
    `select p.id, p.customer_id, coalesce(p.paid_at, p.succeeded_at, p.created_at) as paid_at, d.attempts, d.access_revoked_at,
            c.telegram_user_id, pl.name as plan_name, pl.duration_days,
            coalesce((select json_agg(json_build_object('id', ch.id, 'telegramChatId', ch.telegram_chat_id, 'title', ch.title, 'requiresApproval', ch.requires_approval) order by ch.title, ch.id)
                        from bundle_channels bc join channels ch on ch.id = bc.channel_id where bc.bundle_id = p.bundle_id), '[]'::json) as channels,
            coalesce((select json_agg(json_build_object('id', l.id, 'channelId', l.channel_id, 'url', l.telegram_invite_link, 'expiresAt', l.expires_at, 'usedAt', l.used_at))
                        from invite_links l where l.payment_id = p.id and l.revoked_at is null), '[]'::json) as links
       from payments p join customers c on c.id = p.customer_id join plans pl on pl.id = p.plan_id
       left join deliveries d on d.payment_id = p.id
      where p.id = ?`,
    [paymentId],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    paymentId: r.id,
    customerId: r.customer_id,
    paidAt: new Date(r.paid_at),
    attempts: r.attempts ?? 0,
    accessRevokedAt: r.access_revoked_at,
    telegramUserId: r.telegram_user_id,
    planName: r.plan_name,
    durationDays: r.duration_days,
    channels: r.channels,
    links: r.links.map((l) => ({ ...l, expiresAt: new Date(l.expiresAt), usedAt: l.usedAt ? new Date(l.usedAt) : null })),
  };
}

/**
 * Gives up to `limit` FAILED deliveries a fresh budget (PENDING, attempts 0, due now), oldest
 * failure first: only those whose payment is still paid and whose access was not taken back.
 * SKIP LOCKED: a delivery being changed right now is left for the next request.
 */
export async function reopenFailedRows(em: EntityManager, limit: number, now: Date): Promise<Array<DeliveryRow & { customer_id: string; attempts_before: number; reason_before: string | null }>> {
  return em.execute(
    `with picked as (
       select d.payment_id, d.attempts as attempts_before, d.failure_reason as reason_before, p.customer_id
         from deliveries d join payments p on p.id = d.payment_id
        where d.status = 'FAILED' and d.access_revoked_at is null
          and (p.status = 'SUCCEEDED' or (p.status = 'AUTHORIZED' and p.capture_mode = 'MANUAL'))
        order by d.updated_at, d.payment_id limit ? for update of d skip locked)
     update deliveries d set status = 'PENDING', attempts = 0, next_attempt_at = ?, updated_at = ?
       from picked where d.payment_id = picked.payment_id
     ${RETURNING}, picked.customer_id, picked.attempts_before, picked.reason_before`,
    [limit, now, now],
  );
}
