/**
 * Retry strategies as data: why a charge failed decides whether, how often and how soon it is
 * retried. Pure (no clock, no randomness of its own), so every row is unit-tested.
 * Decline and advice codes: https://docs.stripe.com/declines/codes
 */
import { registerEnumType } from 'type-graphql';
import { retryDelayMs } from '../platform/shared/backoff';

export enum RetryReason {
  HARD_DECLINE = 'HARD_DECLINE',
  INSUFFICIENT_FUNDS = 'INSUFFICIENT_FUNDS',
  NETWORK = 'NETWORK',
  PROCESSING_ERROR = 'PROCESSING_ERROR',
  AUTHENTICATION_REQUIRED = 'AUTHENTICATION_REQUIRED',
  CARD_UPDATE_REQUIRED = 'CARD_UPDATE_REQUIRED',
  RATE_LIMIT = 'RATE_LIMIT',
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  UNKNOWN = 'UNKNOWN',
}
registerEnumType(RetryReason, { name: 'RetryReason', description: 'Why a charge failed, which decides its retry strategy.' });

export interface RetryStrategy {
  reason: RetryReason;
  /** Automatic retries after the failure; 0: never retried. */
  maxAttempts: number;
  /** Delay before the first retry; retry n waits firstDelayMs × 2^(n-1), with jitter. */
  firstDelayMs: number;
  /** Set when only the customer can fix it: what they are told. */
  customerMessage: string | null;
}

/** A failed charge in the gateway's terms (GatewayError fields). */
export interface ChargeFailure {
  code: string | null;
  declineCode: string | null;
  adviceCode: string | null;
  /** HTTP status; null when no answer came (connection error, timeout). */
  statusCode: number | null;
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const R = RetryReason;

export const STRATEGIES: Readonly<Record<RetryReason, RetryStrategy>> = {
  [R.HARD_DECLINE]: { reason: R.HARD_DECLINE, maxAttempts: 0, firstDelayMs: 0, customerMessage: null },
  [R.INSUFFICIENT_FUNDS]: { reason: R.INSUFFICIENT_FUNDS, maxAttempts: 2, firstDelayMs: 24 * HOUR, customerMessage: null },
  [R.NETWORK]: { reason: R.NETWORK, maxAttempts: 3, firstDelayMs: 0, customerMessage: null },
  [R.PROCESSING_ERROR]: { reason: R.PROCESSING_ERROR, maxAttempts: 3, firstDelayMs: MIN, customerMessage: null },
  [R.AUTHENTICATION_REQUIRED]: {
    reason: R.AUTHENTICATION_REQUIRED,
    maxAttempts: 0,
    firstDelayMs: 0,
    customerMessage: 'Your bank asks you to confirm this payment yourself. Please pay once more through our checkout to keep your access.',
  },
  [R.CARD_UPDATE_REQUIRED]: {
    reason: R.CARD_UPDATE_REQUIRED,
    maxAttempts: 0,
    firstDelayMs: 0,
    customerMessage: 'Your saved card could not be charged. Please pay with an up-to-date card through our checkout to keep your access.',
  },
  [R.RATE_LIMIT]: { reason: R.RATE_LIMIT, maxAttempts: 3, firstDelayMs: 30 * MIN, customerMessage: null },
  [R.SERVICE_UNAVAILABLE]: { reason: R.SERVICE_UNAVAILABLE, maxAttempts: 3, firstDelayMs: MIN, customerMessage: null },
  [R.UNKNOWN]: { reason: R.UNKNOWN, maxAttempts: 2, firstDelayMs: 5 * MIN, customerMessage: null },
};

/** The card is gone or the issuer said never again: retrying only adds to the card's decline count. */
const HARD_DECLINES = [
  'stolen_card', 'lost_card', 'fraudulent', 'pickup_card', 'restricted_card', 'security_violation',
  'merchant_blacklist', 'revocation_of_all_authorizations', 'revocation_of_authorization', 'stop_payment_order',
  'invalid_account', 'card_not_supported', 'currency_not_supported', 'transaction_not_allowed', 'not_permitted',
];

const CARD_DATA = ['expired_card', 'incorrect_number', 'invalid_number', 'incorrect_cvc', 'invalid_cvc', 'invalid_expiry_month', 'invalid_expiry_year', 'incorrect_zip', 'new_account_information_available'];

/** Decline codes (inside the card_declined umbrella) and the top-level codes that say the same. */
const BY_CODE: Readonly<Record<string, RetryReason>> = {
  ...Object.fromEntries(HARD_DECLINES.map((code) => [code, R.HARD_DECLINE])),
  ...Object.fromEntries(CARD_DATA.map((code) => [code, R.CARD_UPDATE_REQUIRED])),
  insufficient_funds: R.INSUFFICIENT_FUNDS,
  card_velocity_exceeded: R.INSUFFICIENT_FUNDS,
  withdrawal_count_limit_exceeded: R.INSUFFICIENT_FUNDS,
  processing_error: R.PROCESSING_ERROR,
  reenter_transaction: R.PROCESSING_ERROR,
  authentication_required: R.AUTHENTICATION_REQUIRED,
  /** Ours: the subscription has no saved card to charge. */
  payment_method_missing: R.CARD_UPDATE_REQUIRED,
  rate_limit: R.RATE_LIMIT,
  lock_timeout: R.NETWORK,
  idempotency_key_in_use: R.NETWORK,
  api_connection_error: R.NETWORK,
};

const BY_ADVICE: Readonly<Record<string, RetryReason>> = {
  do_not_try_again: R.HARD_DECLINE,
  confirm_card_data: R.CARD_UPDATE_REQUIRED,
  try_again_later: R.UNKNOWN,
};

/** Decline and advice codes first (a hard "never" from either wins), then the error code, then the HTTP status. */
export function classifyFailure(failure: ChargeFailure): RetryReason {
  const byDecline = failure.declineCode ? BY_CODE[failure.declineCode] : undefined;
  const byAdvice = failure.adviceCode ? BY_ADVICE[failure.adviceCode] : undefined;
  if (byDecline === R.HARD_DECLINE || byAdvice === R.HARD_DECLINE) return R.HARD_DECLINE;
  const byCode = failure.code ? BY_CODE[failure.code] : undefined;
  const found = byDecline ?? byAdvice ?? byCode;
  if (found) return found;
  if (failure.statusCode === null) return R.NETWORK;
  if (failure.statusCode === 429) return R.RATE_LIMIT;
  if (failure.statusCode === 409) return R.NETWORK;
  if (failure.statusCode >= 500) return R.SERVICE_UNAVAILABLE;
  return R.UNKNOWN;
}

export function strategyFor(failure: ChargeFailure): RetryStrategy {
  return STRATEGIES[classifyFailure(failure)];
}

/**
 * Whether Stripe may have executed the charge: no answer, a concurrent request with the same key
 * (409), or a server error. Only then is the next attempt sent with the same idempotency key,
 * which makes Stripe answer the first result instead of charging again.
 */
export function outcomeUnknown(failure: Pick<ChargeFailure, 'statusCode'>): boolean {
  return failure.statusCode === null || failure.statusCode === 409 || failure.statusCode >= 500;
}

/** Delay before retry `retry` (1-based): firstDelay × 2^(retry-1), ± jitter. An immediate retry stays immediate. */
export function retryDelay(strategy: RetryStrategy, retry: number, jitter: number, random: () => number = Math.random): number {
  if (strategy.firstDelayMs === 0) return 0;
  return retryDelayMs(retry, { baseMs: strategy.firstDelayMs, capMs: Number.MAX_SAFE_INTEGER, jitter }, random);
}
