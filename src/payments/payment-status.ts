/**
 * The payment state machine as data: which transitions are allowed, and which statuses are
 * "further along" than others. Pure; the service that applies it is payment-transitions.service.ts.
 */
export enum PaymentStatus {
  PENDING = 'PENDING',
  AUTHORIZED = 'AUTHORIZED',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  EXPIRED = 'EXPIRED',
  CANCELLED = 'CANCELLED',
  REFUNDED = 'REFUNDED',
  DISPUTED = 'DISPUTED',
}

const S = PaymentStatus;

/**
 * FAILED is not final: a customer may retry the card inside the same Checkout Session.
 * EXPIRED and CANCELLED may still become paid: a late payment is honoured, never lost.
 */
export const ALLOWED_TRANSITIONS: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  [S.PENDING]: [S.AUTHORIZED, S.SUCCEEDED, S.FAILED, S.EXPIRED, S.CANCELLED],
  [S.FAILED]: [S.AUTHORIZED, S.SUCCEEDED, S.EXPIRED, S.CANCELLED],
  [S.AUTHORIZED]: [S.SUCCEEDED, S.CANCELLED, S.FAILED],
  [S.EXPIRED]: [S.AUTHORIZED, S.SUCCEEDED],
  [S.CANCELLED]: [S.AUTHORIZED, S.SUCCEEDED],
  [S.SUCCEEDED]: [S.REFUNDED, S.DISPUTED],
  [S.DISPUTED]: [S.SUCCEEDED, S.REFUNDED],
  [S.REFUNDED]: [],
};

/**
 * How far along the money is. A transition to a status of lower rank than the current one is
 * "already past its target" (an out-of-order or duplicate event) and is skipped, not refused.
 */
const RANK: Readonly<Record<PaymentStatus, number>> = {
  [S.PENDING]: 0,
  [S.FAILED]: 1,
  [S.EXPIRED]: 1,
  [S.CANCELLED]: 1,
  [S.AUTHORIZED]: 2,
  [S.SUCCEEDED]: 3,
  [S.DISPUTED]: 4,
  [S.REFUNDED]: 5,
};

export type TransitionDecision = 'apply' | 'noop' | 'skip' | 'refuse';

export function decideTransition(from: PaymentStatus, to: PaymentStatus): TransitionDecision {
  if (from === to) return 'noop';
  if (ALLOWED_TRANSITIONS[from].includes(to)) return 'apply';
  if (RANK[from] > RANK[to]) return 'skip';
  return 'refuse';
}

/** The timestamp column each status stamps when it is entered. */
export const STATUS_TIMESTAMP = {
  [S.PENDING]: undefined,
  [S.AUTHORIZED]: 'authorizedAt',
  [S.SUCCEEDED]: 'succeededAt',
  [S.FAILED]: 'failedAt',
  [S.EXPIRED]: 'expiredAt',
  [S.CANCELLED]: 'cancelledAt',
  [S.REFUNDED]: 'refundedAt',
  [S.DISPUTED]: 'disputedAt',
} as const;

export const PAID_STATUSES: readonly PaymentStatus[] = [S.AUTHORIZED, S.SUCCEEDED];
export const OPEN_STATUSES: readonly PaymentStatus[] = [S.PENDING, S.FAILED];
