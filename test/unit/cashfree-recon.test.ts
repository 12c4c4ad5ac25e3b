import { mapReconEvent, mapSettlement, settlementStatus } from '../../src/integrations/cashfree/recon';
import { orderVerdict } from '../../src/reconciliation/checks/cashfree-orders.check';
import { PaymentStatus } from '../../src/payments/payment-status';

const NOW = new Date('2026-12-01T00:00:00.000Z');

describe("Cashfree's reconciliation rows in our words", () => {
  it('a payment event: rupees to paise exactly, the order and our tag, the time', () => {
    const event = mapReconEvent({
      event_details: { event_id: '4401', event_type: 'PAYMENT', event_status: 'SUCCESS', event_amount: 19.99, event_time: '2026-11-30T10:00:00+05:30', event_currency: 'INR' },
      order_details: { order_id: 'abc', order_amount: 19.99, order_currency: 'INR', order_tags: { paymentId: 'abc' } },
      payment_details: { cf_payment_id: '987', status: 'SUCCESS', payment_amount: 19.99 },
    });
    expect(event).toEqual({
      eventId: '4401', type: 'PAYMENT', status: 'SUCCESS', amountMinor: 1999, currency: 'inr', time: new Date('2026-11-30T04:30:00.000Z'),
      orderId: 'abc', orderAmountMinor: 1999, paymentId: 'abc', cfPaymentId: '987', refundId: null,
    });
  });

  it('awkward amounts: floating-point noise is the amount it stands for; a third decimal or a negative is not money (null), never rounded', () => {
    const amount = (value: unknown) => mapReconEvent({ event_details: { event_type: 'REFUND', event_status: 'SUCCESS', event_amount: value as number } }).amountMinor;
    expect(amount(0.1 + 0.2)).toBe(30);
    expect(amount('170.00')).toBe(17000);
    expect(amount(0.01)).toBe(1);
    expect(amount(19.999)).toBeNull();
    expect(amount(-5)).toBeNull();
    expect(amount('12,00')).toBeNull();
    expect(amount(undefined)).toBeNull();
  });

  it('fills what Cashfree left out: the payment amount and time, a space-separated IST time, a made-up event id', () => {
    const event = mapReconEvent({
      event_details: { event_type: 'payment', event_status: 'success' },
      order_details: { order_id: 'o1' },
      payment_details: { payment_amount: 5, payment_time: '2026-11-30 10:00:00', payment_currency: 'INR' },
    });
    expect(event).toMatchObject({ type: 'PAYMENT', status: 'SUCCESS', amountMinor: 500, currency: 'inr', time: new Date('2026-11-30T04:30:00.000Z'), eventId: 'o1:payment:', cfPaymentId: null, paymentId: null });
    expect(mapReconEvent({}).time).toBeNull();
  });

  it('a settlement is a payout: what reached the bank, in paise; Cashfree statuses in the payout vocabulary', () => {
    expect(settlementStatus('SUCCESS')).toBe('paid');
    expect(settlementStatus('PENDING_WITH_BANK')).toBe('in_transit');
    expect(settlementStatus('PENDING_WITH_CASHFREE')).toBe('pending');
    expect(settlementStatus('FAILED')).toBe('failed');
    expect(settlementStatus(undefined)).toBe('pending');
    const settled = mapSettlement({ cf_settlement_id: '123', status: 'SUCCESS', payment_amount: 1999.99, amount_settled: 1959.99, settlement_initiated_on: '2026-11-30T10:00:00+05:30', settlement_processed_on: '2026-12-01T10:00:00+05:30' }, NOW);
    expect(settled).toEqual({ id: '123', amountMinor: 195999, currency: 'inr', status: 'paid', failureCode: null, failureMessage: null, arrivalDate: new Date('2026-12-01T04:30:00.000Z'), created: new Date('2026-11-30T04:30:00.000Z') });
  });

  it('a failed settlement says why; an amount that is not money counts 0 and says so', () => {
    const failed = mapSettlement({ cf_settlement_id: '9', status: 'FAILED', status_description: 'account closed', amount_settled: 0.1 + 0.2 }, NOW);
    expect(failed).toMatchObject({ status: 'failed', amountMinor: 30, failureCode: 'FAILED', failureMessage: 'account closed', arrivalDate: NOW, created: NOW });
    const odd = mapSettlement({ cf_settlement_id: '10', status: 'SUCCESS', amount_settled: 10.005 }, NOW);
    expect(odd).toMatchObject({ amountMinor: 0, status: 'paid', failureCode: null, failureMessage: 'amount 10.005 is not two-decimal rupees' });
  });
});

describe('orderVerdict: our payment against what Cashfree listed for its order', () => {
  const paid = { payment: { amountMinor: 1999 } as never, refundedMinor: 0 };
  const ours = (status: PaymentStatus, refundedMinor = 0) => ({ status, refundedMinor, amountMinor: 1999 });

  it('agreement is no finding', () => {
    expect(orderVerdict(ours(PaymentStatus.SUCCEEDED), paid)).toBeNull();
    expect(orderVerdict(ours(PaymentStatus.REFUNDED, 1999), { ...paid, refundedMinor: 1999 })).toBeNull();
    expect(orderVerdict(ours(PaymentStatus.PENDING), { payment: null, refundedMinor: 0 })).toBeNull();
  });

  it('Cashfree ahead (paid, refunded more) is a missed webhook to repair', () => {
    expect(orderVerdict(ours(PaymentStatus.PENDING), paid)).toMatchObject({ ahead: true });
    expect(orderVerdict(ours(PaymentStatus.EXPIRED), paid)).toMatchObject({ ahead: true });
    expect(orderVerdict(ours(PaymentStatus.SUCCEEDED, 100), { ...paid, refundedMinor: 600 })).toMatchObject({ ahead: true, why: 'refunded 600 at Cashfree but 100 in our records' });
    // A refund of a payment made before the window: only more is news.
    expect(orderVerdict(ours(PaymentStatus.SUCCEEDED, 700), { payment: null, refundedMinor: 600 })).toBeNull();
  });

  it('ours ahead, another amount, or figures that are not money are alerted, not repaired', () => {
    expect(orderVerdict(ours(PaymentStatus.SUCCEEDED, 700), { ...paid, refundedMinor: 600 })).toMatchObject({ ahead: false });
    expect(orderVerdict(ours(PaymentStatus.SUCCEEDED), { payment: { amountMinor: 1000 } as never, refundedMinor: 0 })).toMatchObject({ ahead: false });
    expect(orderVerdict(ours(PaymentStatus.SUCCEEDED), { ...paid, refundedMinor: null })).toMatchObject({ ahead: false });
  });
});
