import type { AlertService } from '../alerts/alert.service';
import type { CatalogService } from '../catalog/catalog.service';
import type { CustomerService } from '../customers/customer.service';
import type { Scrubber } from '../customers/personal-data.service';
import { VERIFICATION_GATEWAY } from '../inbox/verification-webhook.route';
import type { WebhookIntake } from '../inbox/webhook-intake.service';
import type { PaymentService } from '../payments/payment.service';
import type { Config } from '../platform/config';
import type { Database } from '../platform/database/transaction';
import type { Logger } from '../platform/observability/logger';
import type { Metrics } from '../platform/observability/metrics';
import { SandboxVerificationProvider } from '../verification/sandbox-verification.provider';
import { VERIFICATION_EVENT_TYPES } from '../verification/verification-facts';
import type { VerificationProvider } from '../verification/verification-provider';
import { forgetVerificationDetails, VerificationService } from '../verification/verification.service';

export interface Verification {
  /** KYC + e-sign before checkout. */
  verification: VerificationService;
  /** Null under VERIFICATION_PROVIDER=off. */
  verificationProvider: VerificationProvider | null;
}

/**
 * KYC + e-sign before checkout: the gate on createPayment, and the provider's webhooks applied
 * from the inbox like Stripe's. `eraser` goes into the personal-data erasure (access module).
 */
export function createVerification(deps: { config: Config; db: Database; intake: WebhookIntake; payments: PaymentService; catalog: CatalogService; customers: CustomerService; alerts: AlertService; metrics: Metrics; logger: Logger }): Verification & { eraser: Scrubber } {
  const settings = deps.config.verification;
  const verificationProvider = settings.provider === 'sandbox'
    ? new SandboxVerificationProvider({ apiUrl: settings.apiUrl, webhookSecret: settings.webhookSecret, timeoutMs: settings.timeoutMs })
    : null;
  const verification = new VerificationService(deps.db, verificationProvider, deps.catalog, deps.customers, deps.alerts, deps.logger.child({ component: 'verification' }));
  deps.payments.gateCheckoutWith((actor, customer, plan) => verification.checkoutGate(actor, customer, plan));
  deps.intake.register(VERIFICATION_GATEWAY, (tx, event) => verification.apply(tx, event));
  deps.metrics.knowWebhookTypes(VERIFICATION_GATEWAY, VERIFICATION_EVENT_TYPES);
  return { verification, verificationProvider, eraser: forgetVerificationDetails };
}
