import { CaptureMode } from '../catalog/plan.entity';
import { PaymentKind } from '../payments/payment-kind';
import { PaymentStatus } from '../payments/payment-status';
import type { PaidManyListener, TransitionListener } from '../payments/payment-transitions.service';
import type { DeliveryDispatcher } from './delivery-dispatcher';
import type { DeliveryService } from './delivery.service';

/**
 * A payment that becomes paid (succeeded, or authorized under manual capture) owes a delivery,
 * written in the same transaction as the status; the immediate attempt is dispatched after
 * commit. A payment refunded, disputed or cancelled before delivery owes nothing; one delivered
 * stays delivered, and its delivery records that access was taken back. A dispute won
 * (DISPUTED -> SUCCEEDED) owes the delivery again.
 */
export function deliverWhenPaid(delivery: DeliveryService, dispatcher: DeliveryDispatcher): TransitionListener {
  return async (tx, { payment, from, to }) => {
    const paid = to === PaymentStatus.SUCCEEDED || (to === PaymentStatus.AUTHORIZED && payment.captureMode === CaptureMode.MANUAL);
    // A dispute won: the dispute took the customer out of the channels, so the links are owed again
    // (the delivery, revoked, is reopened; a renewal, which had none, gets one).
    const regained = from === PaymentStatus.DISPUTED && to === PaymentStatus.SUCCEEDED;
    // refundRequestedAt: the payment is being refunded (e.g. a late payment under the refund policy).
    // A renewal is charged only while its subscription runs (the retry queue cancels it once the
    // subscription lapsed): the customer is still in the channels and needs no new links.
    const owed = paid && !payment.refundRequestedAt && (payment.kind !== PaymentKind.RENEWAL || regained);
    if (owed && ((await delivery.markDue(tx, payment)) || (regained && (await delivery.markDueAgain(tx, payment))))) {
      tx.afterCommit(() => dispatcher.dispatch(payment.id));
    }
    // A dispute ends access as a refund does (the subscription lapses): links still owed must not go out.
    if (to === PaymentStatus.REFUNDED || to === PaymentStatus.DISPUTED || to === PaymentStatus.CANCELLED) {
      await delivery.revokeAccess(tx, payment, `payment ${to.toLowerCase()}`);
    }
  };
}

/**
 * The batch form of deliverWhenPaid for PENDING -> SUCCEEDED (PaymentTransitions.succeedMany):
 * every paid payment owes a delivery (one statement), each dispatched after commit, under its
 * payment's id (so the inbox runs it in the span of the event that paid it).
 */
export function deliverWhenPaidMany(delivery: DeliveryService, dispatcher: DeliveryDispatcher): PaidManyListener {
  return async (tx, paid) => {
    const owed = paid.filter((p) => !p.refundRequestedAt && p.kind !== PaymentKind.RENEWAL);
    for (const id of await delivery.markDueMany(tx, owed)) tx.afterCommit(() => dispatcher.dispatch(id), id);
  };
}
