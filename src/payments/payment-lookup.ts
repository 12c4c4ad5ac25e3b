import type { EntityManager } from '@mikro-orm/postgresql';
import type { DeliveryStatus } from '../delivery/delivery-status';
import { isUuid } from '../platform/shared/ids';
import { GatewayError } from '../integrations/stripe/gateway.errors';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway';
import type { PaymentStatus } from './payment-status';

/** The columns reconciliation compares, read in bulk without loading entities. */
export interface PaymentFacts {
  id: string;
  status: PaymentStatus;
  stripePaymentIntentId: string | null;
  amountMinor: number;
  currency: string;
  refundedMinor: number;
  authorizedAt: Date | null;
  statusChangedAt: Date;
  deliveryStatus: DeliveryStatus | null;
}

interface Row {
  id: string;
  status: PaymentStatus;
  stripe_payment_intent_id: string | null;
  amount_minor: number;
  currency: string;
  refunded_minor: number;
  authorized_at: Date | null;
  status_changed_at: Date;
  delivery_status: DeliveryStatus | null;
}

// Delivery is its own table (src/delivery); reconciliation needs only its status.
const COLUMNS = 'id, status, stripe_payment_intent_id, amount_minor, currency, refunded_minor, authorized_at, status_changed_at, (select d.status from deliveries d where d.payment_id = payments.id) as delivery_status';

const toFacts = (r: Row): PaymentFacts => ({
  id: r.id,
  status: r.status,
  stripePaymentIntentId: r.stripe_payment_intent_id,
  amountMinor: r.amount_minor,
  currency: r.currency,
  refundedMinor: r.refunded_minor,
  authorizedAt: r.authorized_at ? new Date(r.authorized_at) : null,
  statusChangedAt: new Date(r.status_changed_at),
  deliveryStatus: r.delivery_status,
});

/** Payments by their PaymentIntent ids or by our ids (from intent metadata), one query per page. */
export async function paymentsByIntentOrId(em: EntityManager, intentIds: readonly string[], paymentIds: readonly string[]): Promise<PaymentFacts[]> {
  // A metadata id that is not a UUID would make Postgres reject the whole query.
  const ids = paymentIds.filter(isUuid);
  const conditions = [...(intentIds.length ? ['stripe_payment_intent_id in (?)'] : []), ...(ids.length ? ['id in (?)'] : [])];
  if (conditions.length === 0) return [];
  const params = [...(intentIds.length ? [[...intentIds]] : []), ...(ids.length ? [ids] : [])];
  const rows: Row[] = await em.execute(`select ${COLUMNS} from payments where ${conditions.join(' or ')}`, params);
  return rows.map(toFacts);
}

export async function paymentsById(em: EntityManager, paymentIds: readonly string[]): Promise<PaymentFacts[]> {
  const ids = paymentIds.filter(isUuid);
  if (ids.length === 0) return [];
  const rows: Row[] = await em.execute(`select ${COLUMNS} from payments where id in (?)`, [ids]);
  return rows.map(toFacts);
}

/**
 * Our payments that a Stripe id an operator copied from Stripe's dashboard names: an intent (pi_),
 * a Checkout Session (cs_) or one of our refunds (re_) straight from our tables; any other charge,
 * refund or dispute id (ch_, py_, re_, pyr_, dp_, du_) through Stripe, by the intent it belongs to.
 * Empty when nothing matches (an id Stripe does not know included).
 */
export async function paymentIdsByGatewayId(em: EntityManager, gateway: Pick<PaymentGateway, 'intentOfObject'>, gatewayId: string): Promise<string[]> {
  const id = gatewayId.trim();
  if (!/^[a-z]{2,4}_[A-Za-z0-9_]+$/.test(id)) return [];
  const local: Array<{ id: string }> = await em.execute(
    `select id from payments where stripe_payment_intent_id = ? or stripe_checkout_session_id = ?
     union select payment_id as id from refunds where stripe_refund_id = ?`,
    [id, id, id],
  );
  if (local.length > 0) return local.map((r) => r.id);
  let owner: Awaited<ReturnType<PaymentGateway['intentOfObject']>>;
  try {
    owner = await gateway.intentOfObject(id);
  } catch (error) {
    if (error instanceof GatewayError && (error.gatewayCode === 'resource_missing' || error.statusCode === 404)) return [];
    throw error;
  }
  if (!owner || (!owner.paymentIntentId && !(owner.paymentId && isUuid(owner.paymentId)))) return [];
  const rows: Array<{ id: string }> = await em.execute(`select id from payments where stripe_payment_intent_id = ? or id = ?::uuid`, [
    owner.paymentIntentId ?? '',
    owner.paymentId && isUuid(owner.paymentId) ? owner.paymentId : null,
  ]);
  return rows.map((r) => r.id);
}

/** The columns the Cashfree reconciliation compares (src/reconciliation/checks/cashfree-orders.check.ts). */
export interface CashfreePaymentFacts {
  id: string;
  status: PaymentStatus;
  amountMinor: number;
  currency: string;
  refundedMinor: number;
  statusChangedAt: Date;
  gatewayOrderId: string | null;
}

const CASHFREE_COLUMNS = 'id, status, amount_minor, currency, refunded_minor, status_changed_at, gateway_order_id';

interface CashfreeRow {
  id: string;
  status: PaymentStatus;
  amount_minor: number;
  currency: string;
  refunded_minor: number;
  status_changed_at: Date;
  gateway_order_id: string | null;
}

const toCashfreeFacts = (r: CashfreeRow): CashfreePaymentFacts => ({
  id: r.id,
  status: r.status,
  amountMinor: r.amount_minor,
  currency: r.currency,
  refundedMinor: r.refunded_minor,
  statusChangedAt: new Date(r.status_changed_at),
  gatewayOrderId: r.gateway_order_id,
});

/** Our Cashfree payments whose order is one of these (the order id is our payment id, or the stored gatewayOrderId). */
export async function cashfreePaymentsByOrder(em: EntityManager, orderIds: readonly string[]): Promise<CashfreePaymentFacts[]> {
  if (orderIds.length === 0) return [];
  const ids = orderIds.filter(isUuid);
  const rows: CashfreeRow[] = await em.execute(
    `select ${CASHFREE_COLUMNS} from payments where gateway = 'CASHFREE' and (gateway_order_id in (?)${ids.length ? ' or id in (?)' : ''})`,
    ids.length ? [[...orderIds], ids] : [[...orderIds]],
  );
  return rows.map(toCashfreeFacts);
}

/** Our paid Cashfree payments created in [start, end) whose status settled before `before`, keyset-paged by id. */
export async function cashfreePaidPage(em: EntityManager, range: { start: Date; end: Date }, before: Date, statuses: readonly PaymentStatus[], after: string | null, limit: number): Promise<CashfreePaymentFacts[]> {
  const rows: CashfreeRow[] = await em.execute(
    `select ${CASHFREE_COLUMNS} from payments where gateway = 'CASHFREE' and status in (?) and created_at >= ? and created_at < ? and status_changed_at < ?${after ? ' and id > ?' : ''} order by id limit ?`,
    [[...statuses], range.start, range.end, before, ...(after ? [after] : []), limit],
  );
  return rows.map(toCashfreeFacts);
}
