import { cashfreeEventId, cashfreeFact, CASHFREE_FACT_EVENT_TYPES } from '../../src/integrations/cashfree/facts';
import { CashfreeWebhookVerifier, signCashfreePayload } from '../../src/integrations/cashfree/cashfree-webhook';

const ORDER = '7f1c2d9e-0b3a-4c5d-8e6f-123456789abc';

/** Cashfree's documented sample shapes (version 2025-01-01), with our order id. */
const success = (overrides: { order_amount?: unknown; payment_amount?: unknown; payment_currency?: unknown; payment_status?: string } = {}) => ({
  data: {
    order: { order_id: ORDER, order_amount: overrides.order_amount ?? 19.99, order_currency: 'INR', order_tags: { paymentId: ORDER } },
    payment: {
      cf_payment_id: '1453002795',
      payment_status: overrides.payment_status ?? 'SUCCESS',
      payment_amount: overrides.payment_amount ?? 19.99,
      payment_currency: overrides.payment_currency ?? 'INR',
      payment_message: '00::Transaction success',
      payment_time: '2022-12-15T12:20:29+05:30',
      payment_group: 'upi',
    },
    customer_details: { customer_id: 'c1', customer_phone: '9908734801' },
  },
  event_time: '2022-12-15T12:20:30+05:30',
  type: 'PAYMENT_SUCCESS_WEBHOOK',
});

const failed = (type = 'PAYMENT_FAILED_WEBHOOK') => ({
  data: {
    order: { order_id: ORDER, order_amount: 19.99, order_currency: 'INR', order_tags: null },
    payment: { cf_payment_id: '1453002796', payment_status: type === 'PAYMENT_FAILED_WEBHOOK' ? 'FAILED' : 'USER_DROPPED', payment_amount: 19.99, payment_currency: 'INR', payment_message: 'Transaction declined' },
    ...(type === 'PAYMENT_FAILED_WEBHOOK' ? { error_details: { error_code: 'TRANSACTION_DECLINED', error_description: 'issuer bank or payment service provider declined the transaction', error_reason: 'auth_declined', error_source: 'customer' } } : {}),
  },
  type,
});

const refund = (status: string, amount: unknown = 19.99) => ({
  data: {
    refund: {
      cf_refund_id: 11325632,
      cf_payment_id: 789727431,
      refund_id: 'b2c3d4e5-0000-4000-8000-000000000001',
      order_id: ORDER,
      refund_amount: amount,
      refund_currency: 'INR',
      entity: 'Refund',
      refund_type: 'MERCHANT_INITIATED',
      refund_status: status,
      status_description: status === 'SUCCESS' ? 'Refund processed successfully' : 'Bank rejected the refund',
    },
  },
  event_time: '2022-02-28T13:04:28+05:30',
  type: 'REFUND_STATUS_WEBHOOK',
});

const dispute = (type: string, status: string) => ({
  data: {
    dispute: { dispute_id: '433475258', dispute_type: 'DISPUTE', reason_code: '1402', reason_description: 'Duplicate Processing', dispute_amount: 19.99, updated_at: '2023-06-15T21:49:48+05:30', dispute_status: status },
    order_details: { order_id: ORDER, order_amount: 19.99, order_currency: 'INR', cf_payment_id: '1453002795' },
  },
  type,
});

describe('cashfreeFact: Cashfree webhooks as the facts Stripe events become', () => {
  it('a success is PaymentSucceeded, money in minor units, applied from the event', () => {
    const fact = cashfreeFact(success());
    expect(fact).toEqual({
      kind: 'PaymentSucceeded',
      eventType: 'PAYMENT_SUCCESS_WEBHOOK',
      reRead: false,
      ref: { paymentId: ORDER, orderId: ORDER },
      cfPaymentId: '1453002795',
      money: { amountMinor: 1999, receivedMinor: 1999, currency: 'inr' },
    });
  });

  it('amounts as strings and with float noise convert; a third decimal is passed on as stated', () => {
    expect(cashfreeFact(success({ order_amount: '19.99', payment_amount: '19.990' }))).toMatchObject({ money: { amountMinor: 1999, receivedMinor: 1999 } });
    expect(cashfreeFact(success({ order_amount: 0.1 + 0.2, payment_amount: 0.3 }))).toMatchObject({ money: { amountMinor: 30, receivedMinor: 30 } });
    expect(cashfreeFact(success({ payment_amount: 19.999 }))).toMatchObject({ money: { receivedMinor: 19.999 } });
    expect(cashfreeFact(success({ payment_amount: 'lots' }))).toMatchObject({ money: { receivedMinor: 'lots' } });
  });

  it('a success webhook whose payment is not SUCCESS is ignored', () => {
    expect(cashfreeFact(success({ payment_status: 'PENDING' })).kind).toBe('Ignored');
  });

  it('a failure and a drop are PaymentFailed, re-read from the order (Cashfree allows more attempts)', () => {
    expect(cashfreeFact(failed())).toEqual({
      kind: 'PaymentFailed',
      eventType: 'PAYMENT_FAILED_WEBHOOK',
      reRead: true,
      ref: { paymentId: null, orderId: ORDER },
      cfPaymentId: '1453002796',
      dropped: false,
      failureCode: 'TRANSACTION_DECLINED',
      failureMessage: 'issuer bank or payment service provider declined the transaction',
    });
    expect(cashfreeFact(failed('PAYMENT_USER_DROPPED_WEBHOOK'))).toMatchObject({ kind: 'PaymentFailed', dropped: true, reRead: true, failureCode: 'user_dropped', failureMessage: 'Transaction declined' });
  });

  it('a refund processed is Refunded (one refund, not a total: re-read); cancelled or failed is RefundFailed; pending is nothing yet', () => {
    expect(cashfreeFact(refund('SUCCESS'))).toEqual({
      kind: 'Refunded',
      eventType: 'REFUND_STATUS_WEBHOOK',
      reRead: true,
      ref: { paymentId: null, orderId: ORDER },
      refundId: 'b2c3d4e5-0000-4000-8000-000000000001',
      cfRefundId: '11325632',
      money: { amountMinor: 1999, currency: 'inr' },
    });
    expect(cashfreeFact(refund('CANCELLED'))).toMatchObject({ kind: 'RefundFailed', failureReason: 'cancelled: Bank rejected the refund', money: { amountMinor: 1999 } });
    expect(cashfreeFact(refund('FAILED'))).toMatchObject({ kind: 'RefundFailed' });
    expect(cashfreeFact(refund('PENDING'))).toMatchObject({ kind: 'Ignored' });
    expect(cashfreeFact(refund('ONHOLD'))).toMatchObject({ kind: 'Ignored' });
  });

  it('disputes: created is Disputed; closed says who won (Cashfree quotes the status twice in its samples)', () => {
    expect(cashfreeFact(dispute('DISPUTE_CREATED', '"DISPUTE_CREATED"'))).toMatchObject({ kind: 'Disputed', disputeId: '433475258', reason: 'Duplicate Processing', money: { disputedMinor: 1999, currency: 'inr' }, ref: { orderId: ORDER } });
    expect(cashfreeFact(dispute('DISPUTE_CLOSED', 'DISPUTE_MERCHANT_WON'))).toMatchObject({ kind: 'DisputeClosed', status: 'won' });
    expect(cashfreeFact(dispute('DISPUTE_CLOSED', '"DISPUTE_CUSTOMER_WON"'))).toMatchObject({ kind: 'DisputeClosed', status: 'lost' });
  });

  it('other types, and bodies of no known shape, are Ignored without throwing', () => {
    expect(cashfreeFact({ type: 'SETTLEMENT_WEBHOOK', data: {} }).kind).toBe('Ignored');
    expect(cashfreeFact({}).kind).toBe('Ignored');
    expect(cashfreeFact({ type: 'PAYMENT_SUCCESS_WEBHOOK', data: 'x' })).toMatchObject({ kind: 'PaymentSucceeded', ref: { orderId: null } });
    expect(CASHFREE_FACT_EVENT_TYPES).toContain('REFUND_STATUS_WEBHOOK');
  });
});

describe('cashfreeEventId: the inbox key of an event that has no id', () => {
  it('is one payment attempt outcome, one refund status, one dispute status', () => {
    expect(cashfreeEventId(success())).toBe(`PAYMENT_SUCCESS_WEBHOOK:${ORDER}:1453002795`);
    expect(cashfreeEventId(failed())).toBe(`PAYMENT_FAILED_WEBHOOK:${ORDER}:1453002796`);
    expect(cashfreeEventId(refund('PENDING'))).not.toBe(cashfreeEventId(refund('SUCCESS')));
    expect(cashfreeEventId(refund('SUCCESS'))).toBe(cashfreeEventId(refund('SUCCESS')));
    expect(cashfreeEventId(dispute('DISPUTE_CREATED', 'DISPUTE_CREATED'))).not.toBe(cashfreeEventId(dispute('DISPUTE_CLOSED', 'DISPUTE_MERCHANT_WON')));
    expect(cashfreeEventId({ type: 'PAYMENT_SUCCESS_WEBHOOK', data: {} })).toBeNull();
  });
});

describe('CashfreeWebhookVerifier', () => {
  const secret = 'cfsk_test_secret';
  const body = Buffer.from(JSON.stringify(success()));
  const timestamp = '1746427759733';

  it('accepts Cashfree\'s signature: HMAC-SHA256 over timestamp + raw body, base64', () => {
    const { createHmac } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const signature = createHmac('sha256', secret).update(timestamp + body.toString('utf8')).digest('base64');
    expect(signCashfreePayload(secret, timestamp, body)).toBe(signature);
    const event = new CashfreeWebhookVerifier(secret).verify(body, signature, timestamp);
    expect(event).toMatchObject({ type: 'PAYMENT_SUCCESS_WEBHOOK', eventId: `PAYMENT_SUCCESS_WEBHOOK:${ORDER}:1453002795` });
  });

  it('agrees with the official SDK\'s own check (PGVerifyWebhookSignature)', () => {
    const { Cashfree, CFEnvironment } = jest.requireActual<typeof import('cashfree-pg')>('cashfree-pg');
    const sdk = new Cashfree(CFEnvironment.SANDBOX, 'app-id', secret, undefined, undefined, undefined, false);
    const signature = signCashfreePayload(secret, timestamp, body);
    expect(sdk.PGVerifyWebhookSignature(signature, body.toString('utf8'), timestamp).type).toBe('PAYMENT_SUCCESS_WEBHOOK');
    expect(() => sdk.PGVerifyWebhookSignature(signCashfreePayload('other', timestamp, body), body.toString('utf8'), timestamp)).toThrow();
  });

  it('accepts any of the secrets (a rotation)', () => {
    const signature = signCashfreePayload('old-secret', timestamp, body);
    expect(new CashfreeWebhookVerifier(['new-secret', 'old-secret']).verify(body, signature, timestamp).type).toBe('PAYMENT_SUCCESS_WEBHOOK');
  });

  it('refuses a wrong signature, another timestamp, changed bytes, missing headers and bodies that are not webhooks', () => {
    const verifier = new CashfreeWebhookVerifier(secret);
    const signature = signCashfreePayload(secret, timestamp, body);
    expect(() => verifier.verify(body, signCashfreePayload('other', timestamp, body), timestamp)).toThrow(/does not match/);
    expect(() => verifier.verify(body, signature, '1746427759734')).toThrow(/does not match/);
    const changed = Buffer.from(body.toString('utf8').replace('19.99', '1.99'));
    expect(() => verifier.verify(changed, signature, timestamp)).toThrow(/does not match/);
    expect(() => verifier.verify(body, undefined, timestamp)).toThrow(/x-webhook-signature/);
    expect(() => verifier.verify(body, signature, undefined)).toThrow(/x-webhook-timestamp/);
    const notWebhook = Buffer.from('{"hello":1}');
    expect(() => verifier.verify(notWebhook, signCashfreePayload(secret, timestamp, notWebhook), timestamp)).toThrow(/not a Cashfree webhook/);
    const notJson = Buffer.from('nope');
    expect(() => verifier.verify(notJson, signCashfreePayload(secret, timestamp, notJson), timestamp)).toThrow(/not JSON/);
  });

  it('gives an event of a type it does not know a key from its bytes', () => {
    const other = Buffer.from(JSON.stringify({ type: 'SETTLEMENT_WEBHOOK', data: { x: 1 } }));
    const verifier = new CashfreeWebhookVerifier(secret);
    const first = verifier.verify(other, signCashfreePayload(secret, timestamp, other), timestamp);
    expect(first.eventId).toMatch(/^SETTLEMENT_WEBHOOK:[0-9a-f]{40}$/);
    expect(verifier.verify(other, signCashfreePayload(secret, '1', other), '1').eventId).toBe(first.eventId);
  });
});
