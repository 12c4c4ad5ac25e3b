import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type Stripe from 'stripe';
import { stripeFact, STRIPE_FACT_EVENT_TYPES, type StripeFact } from '../../src/integrations/stripe/facts';
import { checkEventMoney, type MoneyCheck } from '../../src/payments/event-money';
import { HANDLED_EVENT_TYPES } from '../../src/payments/stripe-events';

// Stripe's own example objects (test/fixtures/stripe/README.md), copied per test so none is shared.
const fixtures = JSON.parse(readFileSync(resolve(__dirname, '../fixtures/stripe/fixtures3.json'), 'utf8')) as { resources: Record<string, Record<string, unknown>> };
const example = (name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> => ({ ...structuredClone(fixtures.resources[name]), ...overrides });

const PAYMENT_ID = '0b6f3c1e-6a0e-4b8e-9d55-2f1d3c4b5a69';
const intent = (overrides: Record<string, unknown> = {}) => example('payment_intent', { metadata: { paymentId: PAYMENT_ID }, ...overrides });
const session = (overrides: Record<string, unknown> = {}) => example('checkout.session', overrides);
const charge = (overrides: Record<string, unknown> = {}) => example('charge', overrides);
const dispute = (overrides: Record<string, unknown> = {}) => example('dispute', overrides);
const refund = (overrides: Record<string, unknown> = {}) => example('refund', overrides);
const failedRefund = (overrides: Record<string, unknown> = {}) => refund({ status: 'failed', failure_reason: 'expired_or_canceled_card', ...overrides });

/** Stripe's example event around one of its example objects, deep-frozen: stripeFact must not write to it. */
function eventOf(type: string, object: Record<string, unknown>): Stripe.Event {
  const event = { ...structuredClone(fixtures.resources.event), type, data: { object } };
  return deepFreeze(event) as unknown as Stripe.Event;
}
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

const OBJECT_FOR: Record<(typeof HANDLED_EVENT_TYPES)[number], () => Record<string, unknown>> = {
  'checkout.session.completed': session,
  'checkout.session.async_payment_succeeded': session,
  'checkout.session.async_payment_failed': session,
  'checkout.session.expired': session,
  'payment_intent.succeeded': intent,
  'payment_intent.payment_failed': intent,
  'payment_intent.canceled': intent,
  'payment_intent.amount_capturable_updated': intent,
  'charge.refunded': charge,
  'charge.dispute.created': dispute,
  'charge.dispute.closed': () => dispute({ status: 'won' }),
  'refund.updated': failedRefund,
  'refund.failed': failedRefund,
  'payout.paid': () => example('payout'),
  'payout.failed': () => example('payout'),
  'payout.canceled': () => example('payout'),
  'payout.updated': () => example('payout'),
};

const problems = (check: MoneyCheck) => (check.ok ? [] : check.problems.map((p) => [p.field, p.kind]));
const payment = { amountMinor: 1099, currency: 'usd' };

describe('stripeFact: a Stripe event as a typed fact', () => {
  it('the applier acts on exactly the types that make facts', () => {
    expect(HANDLED_EVENT_TYPES).toEqual(STRIPE_FACT_EVENT_TYPES);
    expect(Object.keys(OBJECT_FOR).sort()).toEqual([...HANDLED_EVENT_TYPES].sort());
  });

  it.each([
    ['checkout.session.completed', 'CheckoutCompleted', false],
    ['checkout.session.async_payment_succeeded', 'CheckoutCompleted', false],
    ['checkout.session.async_payment_failed', 'PaymentFailed', true],
    ['checkout.session.expired', 'CheckoutExpired', true],
    ['payment_intent.succeeded', 'PaymentSucceeded', false],
    ['payment_intent.payment_failed', 'PaymentFailed', true],
    ['payment_intent.canceled', 'Canceled', true],
    ['payment_intent.amount_capturable_updated', 'Authorized', true],
    ['charge.refunded', 'Refunded', false],
    ['charge.dispute.created', 'Disputed', false],
    ['charge.dispute.closed', 'DisputeClosed', false],
    ['refund.updated', 'RefundFailed', false],
    ['refund.failed', 'RefundFailed', false],
    ['payout.paid', 'Payout', false],
    ['payout.failed', 'Payout', false],
    ['payout.canceled', 'Payout', false],
    ['payout.updated', 'Payout', false],
  ] as const)('%s is %s (re-read from Stripe: %s)', (type, kind, reRead) => {
    const fact = stripeFact(eventOf(type, OBJECT_FOR[type]()));
    expect(fact).toMatchObject({ kind, eventType: type, reRead });
  });

  it('ignores a type Recoup does not act on, with the reason', () => {
    const event = deepFreeze(structuredClone(fixtures.resources.event)) as unknown as Stripe.Event; // Stripe's example is a plan.created
    expect(stripeFact(event)).toEqual({ kind: 'Ignored', eventType: 'plan.created', reRead: false, reason: 'not a type Recoup acts on' });
    expect(stripeFact(eventOf('payment_intent.created', intent())).kind).toBe('Ignored');
  });

  describe('payment intents', () => {
    it('a success carries our id, the intent, its snapshot and its money as stated', () => {
      const object = intent({ status: 'succeeded', amount_received: 1099 });
      const fact = stripeFact(eventOf('payment_intent.succeeded', object));
      expect(fact).toEqual({
        kind: 'PaymentSucceeded',
        eventType: 'payment_intent.succeeded',
        reRead: false,
        ref: { paymentId: PAYMENT_ID, intentId: 'pi_1PgafyB7WZ01zgkWSjxsAJo3', sessionId: null, chargeId: null },
        intentId: 'pi_1PgafyB7WZ01zgkWSjxsAJo3',
        money: { amountMinor: 1099, receivedMinor: 1099, currency: 'usd' },
        intent: object,
      });
    });

    it.each(['payment_intent.payment_failed', 'payment_intent.canceled', 'payment_intent.amount_capturable_updated'])('%s names the intent to re-read and carries no snapshot', (type) => {
      const fact = stripeFact(eventOf(type, intent()));
      expect(fact).toEqual({
        kind: expect.any(String),
        eventType: type,
        reRead: true,
        ref: { paymentId: PAYMENT_ID, intentId: 'pi_1PgafyB7WZ01zgkWSjxsAJo3', sessionId: null, chargeId: null },
        intentId: 'pi_1PgafyB7WZ01zgkWSjxsAJo3',
      });
    });

    it('an intent without our metadata (Stripe\'s example has none) names only the intent', () => {
      const fact = stripeFact(eventOf('payment_intent.succeeded', example('payment_intent')));
      expect(fact).toMatchObject({ ref: { paymentId: null, intentId: 'pi_1PgafyB7WZ01zgkWSjxsAJo3' } });
    });
  });

  describe('checkout sessions', () => {
    it('Stripe\'s example (unpaid, no amount) completes unpaid, with its intent and figures as stated', () => {
      const fact = stripeFact(eventOf('checkout.session.completed', session()));
      expect(fact).toEqual({
        kind: 'CheckoutCompleted',
        eventType: 'checkout.session.completed',
        reRead: false,
        ref: { paymentId: null, intentId: 'pi_1PgafyB7WZ01zgkWSjxsAJo3', sessionId: 'cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY', chargeId: null },
        sessionId: 'cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY',
        paymentStatus: 'unpaid',
        money: { amountMinor: null, currency: null },
      });
    });

    it('a paid session: our id from metadata, else from client_reference_id; an expanded intent gives its id', () => {
      const paid = { payment_status: 'paid', amount_total: 1099, currency: 'usd', client_reference_id: 'from-reference' };
      const byMetadata = stripeFact(eventOf('checkout.session.completed', session({ ...paid, metadata: { paymentId: PAYMENT_ID } })));
      expect(byMetadata).toMatchObject({ paymentStatus: 'paid', ref: { paymentId: PAYMENT_ID }, money: { amountMinor: 1099, currency: 'usd' } });
      const byReference = stripeFact(eventOf('checkout.session.async_payment_succeeded', session({ ...paid, payment_intent: intent() })));
      expect(byReference).toMatchObject({ ref: { paymentId: 'from-reference', intentId: 'pi_1PgafyB7WZ01zgkWSjxsAJo3' } });
    });

    it('no payment required counts as unpaid: only the intent can say money was taken', () => {
      expect(stripeFact(eventOf('checkout.session.completed', session({ payment_status: 'no_payment_required' })))).toMatchObject({ paymentStatus: 'unpaid' });
    });

    it('an expiry names the session to re-read, found by our id or the session only', () => {
      const fact = stripeFact(eventOf('checkout.session.expired', session({ status: 'expired', client_reference_id: PAYMENT_ID })));
      expect(fact).toEqual({
        kind: 'CheckoutExpired',
        eventType: 'checkout.session.expired',
        reRead: true,
        ref: { paymentId: PAYMENT_ID, intentId: null, sessionId: 'cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY', chargeId: null },
        sessionId: 'cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY',
      });
    });
  });

  describe('charges and disputes', () => {
    it('a refund carries the charge, its intent, whether it was captured and the running total as stated', () => {
      const object = charge({ captured: true, amount: 1099, amount_refunded: 400, payment_intent: 'pi_1', metadata: { paymentId: PAYMENT_ID } });
      expect(stripeFact(eventOf('charge.refunded', object))).toEqual({
        kind: 'Refunded',
        eventType: 'charge.refunded',
        reRead: false,
        ref: { paymentId: PAYMENT_ID, intentId: 'pi_1', sessionId: null, chargeId: 'ch_1PgafuB7WZ01zgkWXYmPNZs8' },
        chargeId: 'ch_1PgafuB7WZ01zgkWXYmPNZs8',
        captured: true,
        money: { amountMinor: 1099, refundedMinor: 400, currency: 'usd' },
      });
    });

    it('Stripe\'s example charge was never captured, and names no intent', () => {
      expect(stripeFact(eventOf('charge.refunded', charge()))).toMatchObject({ captured: false, ref: { paymentId: null, intentId: null }, money: { amountMinor: 100, refundedMinor: 0 } });
    });

    it('a dispute carries its charge, reason and disputed amount', () => {
      const fact = stripeFact(eventOf('charge.dispute.created', dispute({ payment_intent: { id: 'pi_2' } })));
      expect(fact).toEqual({
        kind: 'Disputed',
        eventType: 'charge.dispute.created',
        reRead: false,
        ref: { paymentId: null, intentId: 'pi_2', sessionId: null, chargeId: 'ch_1PgafuB7WZ01zgkWXYmPNZs8' },
        disputeId: 'dp_1Pgc71B7WZ01zgkWMevJiAUx',
        chargeId: 'ch_1PgafuB7WZ01zgkWXYmPNZs8',
        reason: 'general',
        money: { disputedMinor: 1000, currency: 'usd' },
      });
    });

    it('a dispute with no reason and an expanded charge, or with no charge at all', () => {
      expect(stripeFact(eventOf('charge.dispute.created', dispute({ reason: null, charge: charge() })))).toMatchObject({ reason: 'no reason', chargeId: 'ch_1PgafuB7WZ01zgkWXYmPNZs8' });
      expect(stripeFact(eventOf('charge.dispute.created', dispute({ charge: null })))).toMatchObject({ chargeId: null, ref: { chargeId: null } });
    });
  });

  describe('async checkout outcomes', () => {
    it('an async payment failure is a PaymentFailed of the session\'s intent, re-read from Stripe', () => {
      const fact = stripeFact(eventOf('checkout.session.async_payment_failed', session({ metadata: { paymentId: PAYMENT_ID } })));
      expect(fact).toEqual({
        kind: 'PaymentFailed',
        eventType: 'checkout.session.async_payment_failed',
        reRead: true,
        ref: { paymentId: PAYMENT_ID, intentId: 'pi_1PgafyB7WZ01zgkWSjxsAJo3', sessionId: 'cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY', chargeId: null },
        intentId: 'pi_1PgafyB7WZ01zgkWSjxsAJo3',
      });
      expect(stripeFact(eventOf('checkout.session.async_payment_failed', session({ payment_intent: intent() })))).toMatchObject({ intentId: 'pi_1PgafyB7WZ01zgkWSjxsAJo3' });
    });

    it('a session that names no intent has nothing to re-read: ignored, with the reason', () => {
      expect(stripeFact(eventOf('checkout.session.async_payment_failed', session({ payment_intent: null })))).toEqual({
        kind: 'Ignored',
        eventType: 'checkout.session.async_payment_failed',
        reRead: false,
        reason: 'the session names no payment intent to re-read',
      });
    });
  });

  describe('closed disputes', () => {
    it.each(['won', 'lost', 'warning_closed'])('a dispute closed %s carries its status, charge, intent and amount', (status) => {
      const fact = stripeFact(eventOf('charge.dispute.closed', dispute({ status, payment_intent: 'pi_2' })));
      expect(fact).toEqual({
        kind: 'DisputeClosed',
        eventType: 'charge.dispute.closed',
        reRead: false,
        ref: { paymentId: null, intentId: 'pi_2', sessionId: null, chargeId: 'ch_1PgafuB7WZ01zgkWXYmPNZs8' },
        disputeId: 'dp_1Pgc71B7WZ01zgkWMevJiAUx',
        chargeId: 'ch_1PgafuB7WZ01zgkWXYmPNZs8',
        status,
        money: { disputedMinor: 1000, currency: 'usd' },
      });
    });

    it('an expanded charge gives its id; a missing status is named unknown', () => {
      expect(stripeFact(eventOf('charge.dispute.closed', dispute({ charge: charge(), status: null })))).toMatchObject({ chargeId: 'ch_1PgafuB7WZ01zgkWXYmPNZs8', status: 'unknown' });
    });
  });

  describe('failed refunds', () => {
    it.each(['refund.failed', 'refund.updated'])('%s with status failed carries the refund, its charge, intent, amount and reason', (type) => {
      const fact = stripeFact(eventOf(type, failedRefund({ payment_intent: 'pi_3', metadata: { paymentId: PAYMENT_ID } })));
      expect(fact).toEqual({
        kind: 'RefundFailed',
        eventType: type,
        reRead: false,
        ref: { paymentId: PAYMENT_ID, intentId: 'pi_3', sessionId: null, chargeId: 'ch_1PgafuB7WZ01zgkWXYmPNZs8' },
        refundId: 're_1Pgc72B7WZ01zgkWqPvrRrPE',
        chargeId: 'ch_1PgafuB7WZ01zgkWXYmPNZs8',
        failureReason: 'expired_or_canceled_card',
        money: { amountMinor: 100, currency: 'usd' },
      });
    });

    it('a refund.updated that is not a failure (Stripe\'s example succeeded) is ignored, with the status', () => {
      expect(stripeFact(eventOf('refund.updated', refund()))).toEqual({ kind: 'Ignored', eventType: 'refund.updated', reRead: false, reason: 'the refund is succeeded, not failed' });
      expect(stripeFact(eventOf('refund.updated', refund({ status: 'pending' })))).toMatchObject({ kind: 'Ignored' });
    });

    it('a failure with no reason is named unknown; its amount is copied as stated, for the checks', () => {
      const fact = stripeFact(eventOf('refund.failed', failedRefund({ failure_reason: null, amount: -5 })));
      expect(fact).toMatchObject({ failureReason: 'unknown', money: { amountMinor: -5, currency: 'usd' } });
    });
  });

  it.each(['paid', 'failed', 'canceled', 'updated'])('payout.%s carries the payout and its status', (status) => {
    const object = example('payout');
    expect(stripeFact(eventOf(`payout.${status}`, object))).toEqual({ kind: 'Payout', eventType: `payout.${status}`, reRead: false, status, payout: object });
  });

  describe('money figures, as the money checks read them', () => {
    const moneyOf = (fact: StripeFact) => ('money' in fact ? fact.money : undefined);

    it('are copied as stated, not made valid: the checks refuse what does not fit', () => {
      const refunded = stripeFact(eventOf('charge.refunded', charge({ captured: true, amount: 1099, amount_refunded: 999_999 })));
      expect(problems(checkEventMoney(payment, moneyOf(refunded) ?? {}))).toEqual([['refundedMinor', 'invalid']]);
      const succeeded = stripeFact(eventOf('payment_intent.succeeded', intent({ amount: '1099', amount_received: -1, currency: 'eur' })));
      expect(moneyOf(succeeded)).toEqual({ amountMinor: '1099', receivedMinor: -1, currency: 'eur' });
      expect(problems(checkEventMoney(payment, moneyOf(succeeded) ?? {}))).toEqual([['amountMinor', 'invalid'], ['receivedMinor', 'invalid'], ['currency', 'mismatch']]);
      const disputed = stripeFact(eventOf('charge.dispute.created', dispute({ amount: 5000 })));
      expect(problems(checkEventMoney(payment, moneyOf(disputed) ?? {}))).toEqual([['disputedMinor', 'mismatch']]);
    });

    it('a figure the event leaves out is still named, so the checks see it missing', () => {
      const object = charge({ captured: true, amount: 1099 });
      delete object.amount_refunded;
      const fact = stripeFact(eventOf('charge.refunded', object));
      expect(moneyOf(fact)).toHaveProperty('refundedMinor', undefined);
      expect(problems(checkEventMoney(payment, moneyOf(fact) ?? {}))).toEqual([['refundedMinor', 'invalid']]);
    });

    it('figures that fit the payment pass', () => {
      const checkout = stripeFact(eventOf('checkout.session.completed', session({ payment_status: 'paid', amount_total: 1099, currency: 'usd' })));
      const succeeded = stripeFact(eventOf('payment_intent.succeeded', intent({ amount_received: 1099 })));
      const refunded = stripeFact(eventOf('charge.refunded', charge({ captured: true, amount: 1099, amount_refunded: 1099 })));
      for (const fact of [checkout, succeeded, refunded]) expect(checkEventMoney(payment, moneyOf(fact) ?? {})).toEqual({ ok: true });
    });
  });
});
