/** Taking money: the Stripe client, intake of its events, manual capture, and pending-payment cleanup. */
import type { Reader } from './reader';

export interface StripeConfig {
  secretKey: string;
  /**
   * Webhook signing secrets, any of which verifies an event: during a rotation both the old and
   * the new endpoint secret (STRIPE_WEBHOOK_SECRET=whsec_new,whsec_old).
   */
  webhookSecrets: string[];
  /** Base URL override (a fake Stripe in tests and sandbox mode). */
  apiUrl?: string;
  maxNetworkRetries: number;
  timeoutMs: number;
  checkoutSuccessUrl: string;
  checkoutCancelUrl: string;
}

export interface CaptureConfig {
  /** delivered: once the invite links were delivered; joined: once the customer joined (access feature calls in). */
  on: 'delivered' | 'joined';
  sweepEvery: string;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  leaseMs: number;
}

export interface JobsConfig {
  processEvery: string;
  gatewayEventRetryEvery: string;
  gatewayEventMaxAttempts: number;
  /** Schedule of refunds:settle-pending, and how old a PENDING refund must be before it retries it. */
  refundSettleEvery: string;
  refundSettleAfterSeconds: number;
  /** How long an inbox event claimed for applying is the claimer's before another may take it. */
  inboxLeaseMs: number;
  /** Inbox events claimed per round trip. */
  inboxBatchSize: number;
  /** Apply a claimed batch's plain successes and ignored types in one set-based transaction (off: every event on its own). */
  inboxBatchApply: boolean;
}

export interface PaymentsConfig {
  /** A pending payment older than this is stale: it is expired (and its Checkout Session too). */
  checkoutExpiryMinutes: number;
  cleanupCron: string;
  cleanupBatchSize: number;
  largeCleanupThreshold: number;
  /** What to do with a payment that succeeds after we expired or cancelled it. */
  latePaymentPolicy: 'honour' | 'refund';
  /** The gateway of a plan created without one (DEFAULT_GATEWAY): the installation's gateway. */
  defaultGateway: 'STRIPE' | 'CASHFREE';
}

/** `sandbox` (decided from STRIPE_SECRET_KEY by loadConfig) relaxes STRIPE_WEBHOOK_SECRET outside production. */
export function stripeConfig(r: Reader, production: boolean, sandbox: boolean, publicUrl: string): StripeConfig {
  const secretKey = r.required('STRIPE_SECRET_KEY', production, 'sk_test_sandbox');
  checkLiveKey(r, production, r.str('STRIPE_SECRET_KEY'));
  return {
    secretKey,
    webhookSecrets: webhookSecrets(r, r.required('STRIPE_WEBHOOK_SECRET', production || !sandbox, 'whsec_sandbox')),
    apiUrl: r.url('STRIPE_API_URL'),
    maxNetworkRetries: r.int('STRIPE_MAX_NETWORK_RETRIES', 2, 0, 10),
    timeoutMs: r.int('STRIPE_TIMEOUT_MS', 20000, 100, 120000),
    checkoutSuccessUrl: r.url('CHECKOUT_SUCCESS_URL', `${publicUrl}/checkout/success`)!,
    checkoutCancelUrl: r.url('CHECKOUT_CANCEL_URL', `${publicUrl}/checkout/cancel`)!,
  };
}

/** In production a test-mode key (sk_test_, rk_test_) takes no real money: refused unless STRIPE_ALLOW_TEST_KEYS=true (a staging run). */
function checkLiveKey(r: Reader, production: boolean, key: string | undefined): void {
  const allowTestKeys = r.bool('STRIPE_ALLOW_TEST_KEYS', false);
  if (production && key !== undefined && /^[sr]k_test_/.test(key) && !allowTestKeys) {
    r.problems.push(`STRIPE_SECRET_KEY is a test-mode key (${key.slice(0, 8)}…) and NODE_ENV is production; use a live key, or set STRIPE_ALLOW_TEST_KEYS=true`);
  }
}

export function captureConfig(r: Reader): CaptureConfig {
  return {
    on: r.oneOf('CAPTURE_ON', ['delivered', 'joined'] as const, 'delivered'),
    sweepEvery: r.str('CAPTURE_SWEEP_EVERY', '1 minute')!,
    maxAttempts: r.int('CAPTURE_MAX_ATTEMPTS', 6, 1, 50),
    backoffBaseMs: r.int('CAPTURE_BACKOFF_BASE_MS', 60_000, 10, 3_600_000),
    backoffCapMs: r.int('CAPTURE_BACKOFF_CAP_MS', 3_600_000, 10, 86_400_000),
    leaseMs: r.int('CAPTURE_LEASE_MS', 60_000, 1_000, 600_000),
  };
}

/** The scheduler's poll, and the inbox: the sweep that applies stored events nobody has applied yet or whose applying failed. */
export function jobsConfig(r: Reader): JobsConfig {
  return {
    processEvery: r.str('JOBS_PROCESS_EVERY', '5 seconds')!,
    gatewayEventRetryEvery: r.str('GATEWAY_EVENT_RETRY_EVERY', '1 minute')!,
    gatewayEventMaxAttempts: r.int('GATEWAY_EVENT_MAX_ATTEMPTS', 10, 1, 100),
    refundSettleEvery: r.str('REFUND_SETTLE_EVERY', '5 minutes')!,
    refundSettleAfterSeconds: r.int('REFUND_SETTLE_AFTER_SECONDS', 120, 1, 86_400),
    inboxLeaseMs: r.int('INBOX_LEASE_MS', 60_000, 1_000, 600_000),
    inboxBatchSize: r.int('INBOX_BATCH_SIZE', 50, 1, 1_000),
    inboxBatchApply: r.bool('INBOX_BATCH_APPLY', true),
  };
}

export function paymentsConfig(r: Reader): PaymentsConfig {
  return {
    checkoutExpiryMinutes: r.int('CHECKOUT_EXPIRY_MINUTES', 30, 30, 1440),
    cleanupCron: r.str('CLEANUP_CRON', '*/15 * * * *')!,
    cleanupBatchSize: r.int('CLEANUP_BATCH_SIZE', 500, 1, 10_000),
    largeCleanupThreshold: r.int('LARGE_CLEANUP_THRESHOLD', 10, 1, 1_000_000),
    latePaymentPolicy: r.oneOf('LATE_PAYMENT_POLICY', ['honour', 'refund'] as const, 'honour'),
    defaultGateway: r.oneOf('DEFAULT_GATEWAY', ['STRIPE', 'CASHFREE'] as const, 'STRIPE'),
  };
}

/** STRIPE_WEBHOOK_SECRET as a comma-separated list (spaces around commas ignored); each must look like a secret. */
function webhookSecrets(r: Reader, raw: string): string[] {
  const secrets = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (raw && secrets.length === 0) r.problems.push('STRIPE_WEBHOOK_SECRET holds no secret');
  if (new Set(secrets).size !== secrets.length) r.problems.push('STRIPE_WEBHOOK_SECRET lists the same secret twice');
  return secrets;
}

/** The second gateway (issue 15): plans with gateway CASHFREE are sold through it. */
export interface CashfreeConfig {
  /** CASHFREE_APP_ID and CASHFREE_SECRET_KEY are set (or sandbox mode runs a fake): CASHFREE plans can be sold. */
  enabled: boolean;
  appId: string;
  secretKey: string;
  /** What verifies a webhook: CASHFREE_WEBHOOK_SECRET (comma-separated during a rotation), else the secret key, which is what Cashfree signs with. */
  webhookSecrets: string[];
  environment: 'sandbox' | 'production';
  /** Base URL override, with the /pg path (a fake Cashfree in tests and sandbox mode). */
  apiUrl?: string;
  /** The hosted checkout page; the order's payment session id is appended. Default: Recoup's own page. */
  checkoutUrl: string;
  timeoutMs: number;
}

export function cashfreeConfig(r: Reader, production: boolean, publicUrl: string): CashfreeConfig {
  const appId = r.str('CASHFREE_APP_ID');
  const secretKey = r.str('CASHFREE_SECRET_KEY');
  if ((appId === undefined) !== (secretKey === undefined)) r.problems.push('CASHFREE_APP_ID and CASHFREE_SECRET_KEY go together: set both, or neither');
  const raw = r.str('CASHFREE_WEBHOOK_SECRET');
  const webhookSecrets = (raw ?? secretKey ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (raw !== undefined && webhookSecrets.length === 0) r.problems.push('CASHFREE_WEBHOOK_SECRET holds no secret');
  return {
    enabled: appId !== undefined && secretKey !== undefined,
    appId: appId ?? '',
    secretKey: secretKey ?? '',
    webhookSecrets,
    // Outside production the default takes no real money.
    environment: r.oneOf('CASHFREE_ENV', ['sandbox', 'production'] as const, production ? 'production' : 'sandbox'),
    apiUrl: r.url('CASHFREE_API_URL'),
    checkoutUrl: r.url('CASHFREE_CHECKOUT_URL', `${publicUrl}/checkout/cashfree`)! + '/',
    timeoutMs: r.int('CASHFREE_TIMEOUT_MS', 20000, 100, 120000),
  };
}
