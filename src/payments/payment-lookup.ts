import type { EntityManager } from '@mikro-orm/postgresql';
import type { DeliveryStatus } from '../delivery/delivery-status';
import { isUuid } from '../platform/shared/ids';
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
