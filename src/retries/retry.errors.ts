import { AppError } from '../platform/shared/errors';

export class RetryError extends AppError {
  static noOpenJob(paymentId: string): RetryError {
    return new RetryError('NOT_FOUND', `Payment ${paymentId} has no queued retry`, { paymentId });
  }

  static inFlight(jobId: string): RetryError {
    return new RetryError('CONFLICT', `Retry job ${jobId} is charging the card right now; try again in a moment`, { jobId });
  }

  static notRetryable(paymentId: string, status: string): RetryError {
    return new RetryError('CONFLICT', `Payment ${paymentId} is ${status}: only a failed payment can be queued for retry`, { paymentId, status });
  }

  static checkoutPaid(paymentId: string): RetryError {
    return new RetryError('CONFLICT', `Payment ${paymentId} was paid through its checkout; Stripe's webhook settles it`, { paymentId });
  }

  static openPayment(customerId: string): RetryError {
    return new RetryError('CONFLICT', `Customer ${customerId} has an open payment for this bundle; settle or cancel it first`, { customerId });
  }
}
