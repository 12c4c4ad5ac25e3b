import type { GatewayEvent } from '../../inbox/gateway-event.entity';
import { stripeFact, type StripeFact } from '../../integrations/stripe/facts';
import type { Tx } from '../../platform/database/transaction';
import { isUuid } from '../../platform/shared/ids';
import { checkEventMoney } from '../event-money';
import { PaymentKind } from '../payment-kind';
import { PaymentStatus } from '../payment-status';
import { PAYMENT_ROW_COLUMNS, paymentRowOf, type PaymentRow, type SucceedItem } from '../payment-transitions.service';
import { actor, type StripeApply } from './context';

/** What the batch path did with one event; events it does not name are applied one by one. */
export interface BatchApplied {
  outcome: string;
  /** The payment it paid: its after-commit work (the delivery) runs in that event's span. */
  subject?: string;
}

interface Read {
  event: GatewayEvent;
  fact: StripeFact | null;
}

/**
 * The hot path of the inbox, for a claimed batch of Stripe events in one transaction: an ignored
 * type is recorded as such, and a plain success (payment_intent.succeeded, or a paid
 * checkout.session.completed, of a PENDING payment whose money fits) moves its payment
 * PENDING -> SUCCEEDED in set-based SQL with what that sets off (audit, subscription, owed
 * delivery: PaymentTransitions.succeedMany), the payments locked once, in id order.
 *
 * Everything else is left to the one-by-one path, which runs after this batch commits, in the
 * order received. So that order still holds, a success is taken only when it is the first event
 * of the batch about its payment: an event left to the one-by-one path blocks every later one
 * that names the same payment, intent or session (and one that names none blocks all later ones).
 * A success is also left alone when the payment is not PENDING, has a refund or a dispute noted,
 * is a renewal, shares its customer and bundle with another success of the batch, or matches
 * more than one row: the one-by-one path has the rules for those (late payments, disputes
 * before success, out-of-order refunds).
 */
export async function applyPaidBatch(ctx: StripeApply, tx: Tx, events: GatewayEvent[]): Promise<Map<string, BatchApplied>> {
  const reads: Read[] = events.map((event) => ({ event, fact: factOf(event) }));
  const payments = await lockCandidates(tx, reads);
  const taken = new Map<string, BatchApplied>();
  const blocked = new Set<string>();
  const claimedKeys = new Set<string>();
  const pairs = new Set<string>();
  const items: SucceedItem[] = [];
  let barrier = false;
  for (const { event, fact } of reads) {
    if (fact?.kind === 'Ignored') {
      taken.set(event.id, { outcome: `ignored: ${fact.reason}` });
      continue;
    }
    const success = !barrier && fact ? plainSuccess(fact, payments) : null;
    const keys = success && fact ? keysOf(success.payment, fact) : fact ? [...refKeys(fact), ...rowKeys(fact, payments)] : [];
    const free = keys.every((k) => !blocked.has(k) && !claimedKeys.has(k));
    const pair = success ? `${success.payment.customerId}:${success.payment.bundleId}` : '';
    if (success && free && !pairs.has(pair)) {
      keys.forEach((k) => claimedKeys.add(k));
      pairs.add(pair);
      items.push(success);
      taken.set(event.id, { outcome: `${PaymentStatus.PENDING} -> ${PaymentStatus.SUCCEEDED}`, subject: success.payment.id });
      continue;
    }
    if (fact?.kind === 'Payout') continue; // about no payment
    if (keys.length === 0) barrier = true;
    keys.forEach((k) => blocked.add(k));
  }
  const moved = new Set((await ctx.sync.succeedMany(tx, actor, items)).map((p) => p.id));
  // A row that was not PENDING after all (it cannot be: it is locked and was checked) is left to the one-by-one path.
  for (const [id, applied] of taken) if (applied.subject && !moved.has(applied.subject)) taken.delete(id);
  return taken;
}

function factOf(event: GatewayEvent): StripeFact | null {
  try {
    return stripeFact(event.payload as unknown as Parameters<typeof stripeFact>[0]);
  } catch {
    return null; // the one-by-one path records why
  }
}

/** Our id, and the intent and session a success names: the rows it may be about. */
function successRef(fact: StripeFact): { paymentId: string; intentId: string | null; sessionId: string | null } | null {
  if (fact.kind !== 'PaymentSucceeded' && !(fact.kind === 'CheckoutCompleted' && fact.paymentStatus === 'paid')) return null;
  if (!fact.ref.paymentId || !isUuid(fact.ref.paymentId)) return null;
  return { paymentId: fact.ref.paymentId, intentId: fact.ref.intentId, sessionId: fact.ref.sessionId };
}

/** The batch's candidate payments, locked FOR UPDATE in id order: every row a success names by any of its ids. */
async function lockCandidates(tx: Tx, reads: Read[]): Promise<PaymentRow[]> {
  const refs = reads.flatMap(({ fact }) => (fact ? [successRef(fact)] : [])).filter((r) => r !== null);
  if (refs.length === 0) return [];
  const list = (values: Array<string | null>) => JSON.stringify([...new Set(values.filter((v) => v !== null))]);
  const rows: Array<Record<string, unknown>> = await tx.em.execute(
    `select ${PAYMENT_ROW_COLUMNS} from payments p
      where p.id in (select jsonb_array_elements_text(?::jsonb)::uuid)
         or p.stripe_payment_intent_id in (select jsonb_array_elements_text(?::jsonb))
         or p.stripe_checkout_session_id in (select jsonb_array_elements_text(?::jsonb))
      order by p.id for update`,
    [list(refs.map((r) => r.paymentId)), list(refs.map((r) => r.intentId)), list(refs.map((r) => r.sessionId))],
  );
  for (const row of rows) tx.markLocked('Payment', row.id as string);
  return rows.map(paymentRowOf);
}

/** The success as a PENDING -> SUCCEEDED of its payment, when it is that and nothing more; else null. */
function plainSuccess(fact: StripeFact, payments: PaymentRow[]): SucceedItem | null {
  const ref = successRef(fact);
  if (!ref) return null;
  const matches = payments.filter((p) => p.id === ref.paymentId || (ref.intentId !== null && p.stripePaymentIntentId === ref.intentId) || (ref.sessionId !== null && p.stripeCheckoutSessionId === ref.sessionId));
  if (matches.length !== 1 || matches[0].id !== ref.paymentId) return null;
  const payment = matches[0];
  if (payment.status !== PaymentStatus.PENDING || payment.kind === PaymentKind.RENEWAL) return null;
  if (payment.refundedMinor !== 0 || payment.refundRequestedAt || payment.disputedAt || payment.authorizedAt) return null;
  if (ref.intentId && payment.stripePaymentIntentId && payment.stripePaymentIntentId !== ref.intentId) return null;
  if (fact.kind === 'PaymentSucceeded') {
    if (fact.intent.status !== 'succeeded' || !checkEventMoney(payment, fact.money).ok) return null;
    return { payment, reason: fact.eventType, stripePaymentIntentId: fact.intentId, stripeCustomerId: idOf(fact.intent.customer), stripePaymentMethodId: idOf(fact.intent.payment_method) };
  }
  if (fact.kind !== 'CheckoutCompleted' || !checkEventMoney(payment, fact.money).ok) return null;
  return { payment, reason: 'checkout.session.completed', stripePaymentIntentId: ref.intentId, stripeCustomerId: null, stripePaymentMethodId: null };
}

const idOf = (value: unknown): string | null => (typeof value === 'string' ? value : ((value as { id?: string } | null)?.id ?? null));

/** Every id an event names its payment by. */
function refKeys(fact: StripeFact): string[] {
  if (!('ref' in fact)) return [];
  const { paymentId, intentId, sessionId } = fact.ref;
  return [paymentId, intentId, sessionId].filter((k): k is string => k !== null);
}

/** A success's keys: what it names, and every id its payment's row has. */
function keysOf(payment: PaymentRow, fact: StripeFact): string[] {
  return [...new Set([...refKeys(fact), payment.id, payment.stripePaymentIntentId, payment.stripeCheckoutSessionId].filter((k): k is string => k !== null))];
}

/** The ids of every locked row an event names by any of its ids. */
function rowKeys(fact: StripeFact, payments: PaymentRow[]): string[] {
  const named = new Set(refKeys(fact));
  return payments
    .filter((p) => named.has(p.id) || (p.stripePaymentIntentId !== null && named.has(p.stripePaymentIntentId)) || (p.stripeCheckoutSessionId !== null && named.has(p.stripeCheckoutSessionId)))
    .flatMap((p) => [p.id, p.stripePaymentIntentId, p.stripeCheckoutSessionId].filter((k): k is string => k !== null));
}
