import type { CheckoutResult as CheckoutResultData } from './payment.service';
import type { PendingView } from './pending-payments.service';
import { CheckoutOutcomeEnum, PaymentActionType, type CheckoutResult, type PendingPayment } from './checkout.types';

/** An open payment as the customer sees it: age, time left, and the ways forward. */
export function presentPending(view: PendingView): PendingPayment {
  const { payment } = view;
  const actions = [
    ...(payment.checkoutUrl && !view.stale
      ? [{ type: PaymentActionType.COMPLETE, label: 'Complete this payment', paymentId: payment.id, url: payment.checkoutUrl, mutation: null }]
      : []),
    { type: PaymentActionType.CANCEL, label: 'Cancel this payment', paymentId: payment.id, url: null, mutation: `cancelPayment(paymentId: "${payment.id}")` },
    {
      type: PaymentActionType.CANCEL_AND_START_NEW,
      label: 'Cancel it and start a new checkout',
      paymentId: payment.id,
      url: null,
      mutation: `createPayment(input: { planId: "…", replacePaymentId: "${payment.id}" })`,
    },
  ];
  return { ...view, actions };
}

const MESSAGES: Record<CheckoutOutcomeEnum, string> = {
  CREATED: 'Payment created: pay at checkoutUrl.',
  PENDING_SAME_BUNDLE: 'You already have an open payment for this bundle: complete it, or cancel it and start a new one.',
  ALREADY_PAID: 'Your earlier payment for this bundle went through: nothing more to pay.',
  VERIFICATION_REQUIRED: 'This plan requires identity verification (KYC) and the signature of its terms before payment: complete it at verification.verificationUrl, then try again.',
};

export function presentCheckout(result: CheckoutResultData, telegramDeepLink: string | null = null): CheckoutResult {
  const outcome = CheckoutOutcomeEnum[result.outcome];
  const warnings = result.otherPending.map(presentPending);
  const note = warnings.length > 0 ? ` Note: ${warnings.length} open payment(s) for other bundles.` : '';
  const rejected = result.verification?.status === 'REJECTED';
  const message = rejected
    ? `Your verification was rejected${result.verification?.reason ? ` (${result.verification.reason})` : ''}: start a new one with startVerification, or contact support.`
    : MESSAGES[outcome] + note;
  return {
    outcome,
    message,
    payment: result.payment,
    conflict: result.conflict ? presentPending(result.conflict) : null,
    warnings,
    telegramDeepLink: outcome === CheckoutOutcomeEnum.CREATED ? telegramDeepLink : null,
    verification: result.verification ?? null,
  };
}
