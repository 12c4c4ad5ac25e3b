import { AppError } from '../platform/shared/errors';
import type { PaymentStatus } from './payment-status';

export class PaymentError extends AppError {
  static notFound(paymentId: string): PaymentError {
    return new PaymentError('NOT_FOUND', `Payment ${paymentId} was not found`, { paymentId });
  }

  static invalidTransition(paymentId: string, from: PaymentStatus, to: PaymentStatus): PaymentError {
    return new PaymentError('INVALID_TRANSITION', `Payment ${paymentId} cannot go from ${from} to ${to}`, {
      paymentId,
      from,
      to,
    });
  }
}
