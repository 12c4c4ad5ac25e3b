import { AppError } from '../platform/shared/errors';
import type { PaymentStatus } from './payment-status';

/** Why an operator action on a payment cannot go ahead; the message says what to do instead. */
export class PaymentOperationError extends AppError {
  static noIntent(paymentId: string): PaymentOperationError {
    return new PaymentOperationError('CONFLICT', `Payment ${paymentId} has no Stripe PaymentIntent yet`, { paymentId });
  }

  static notCapturable(paymentId: string, status: PaymentStatus, gatewayStatus: string): PaymentOperationError {
    return new PaymentOperationError('CONFLICT', `Payment ${paymentId} cannot be captured: ours is ${status}, Stripe's intent is ${gatewayStatus}. Run syncPaymentWithGateway first.`, { paymentId, status, gatewayStatus });
  }

  static notReleasable(paymentId: string, status: PaymentStatus, gatewayStatus: string): PaymentOperationError {
    const hint = gatewayStatus === 'succeeded' ? 'It was already captured: refund it instead.' : 'Run syncPaymentWithGateway first.';
    return new PaymentOperationError('CONFLICT', `Payment ${paymentId} cannot be released: ours is ${status}, Stripe's intent is ${gatewayStatus}. ${hint}`, { paymentId, status, gatewayStatus });
  }

  static notRefundable(paymentId: string, status: PaymentStatus, gatewayStatus: string): PaymentOperationError {
    return new PaymentOperationError('CONFLICT', `Payment ${paymentId} cannot be refunded: ours is ${status}, Stripe's intent is ${gatewayStatus}. Only captured payments are refunded (release an authorization instead).`, { paymentId, status, gatewayStatus });
  }

  static overRefund(paymentId: string, requestedMinor: number, remainingMinor: number): PaymentOperationError {
    const message = remainingMinor === 0
      ? `Payment ${paymentId} has nothing left to refund`
      : `Cannot refund ${requestedMinor}: only ${remainingMinor} of payment ${paymentId} is left to refund`;
    return new PaymentOperationError('BAD_USER_INPUT', message, { paymentId, requestedMinor, remainingMinor });
  }
}
