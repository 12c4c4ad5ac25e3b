import { AppError } from '../platform/shared/errors';

/** Why a verification request cannot go ahead: a code for the client, and `reason` in the details. */
export class VerificationError extends AppError {
  static notRequired(planId: string): VerificationError {
    return new VerificationError('BAD_USER_INPUT', `Plan ${planId} does not require verification`, { planId, reason: 'NOT_REQUIRED' });
  }

  static providerUnavailable(detail: string): VerificationError {
    return new VerificationError('UNAVAILABLE', `The verification provider cannot be reached (${detail}); try again shortly`, { reason: 'PROVIDER_UNAVAILABLE' });
  }

  static noProvider(): VerificationError {
    return new VerificationError('UNAVAILABLE', 'No verification provider is configured (VERIFICATION_PROVIDER=off): only an operator can verify a customer', { reason: 'NO_PROVIDER' });
  }

  static rejectedByOperator(customerId: string): VerificationError {
    return new VerificationError('CONFLICT', 'An operator rejected this customer\'s verification: only an operator can change it', { customerId, reason: 'REJECTED_BY_OPERATOR' });
  }

  static anonymised(customerId: string): VerificationError {
    return new VerificationError('CONFLICT', 'This customer was anonymised and cannot be verified', { customerId, reason: 'ANONYMISED' });
  }

  static badOverride(message: string): VerificationError {
    return new VerificationError('BAD_USER_INPUT', message, { reason: 'BAD_OVERRIDE' });
  }
}
