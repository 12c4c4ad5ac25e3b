import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import type { AlertService } from '../alerts/alert.service';
import { recordAudit } from '../audit/audit.service';
import type { CatalogService } from '../catalog/catalog.service';
import type { Plan } from '../catalog/plan.entity';
import { Customer } from '../customers/customer.entity';
import type { CustomerService } from '../customers/customer.service';
import { redactVerificationEvent } from '../customers/gateway-event-scrubber';
import type { ErasureSubject } from '../customers/personal-data-copies';
import type { GatewayEvent } from '../inbox/gateway-event.entity';
import { systemActor, type Actor, type Database, type Tx } from '../platform/database/transaction';
import type { Logger } from '../platform/observability/logger';
import { isUuid } from '../platform/shared/ids';
import { OVERRIDE_PROVIDER, Verification, VerificationStatus, VerificationStep } from './verification.entity';
import { VerificationError } from './verification.errors';
import { VerificationProviderError, type VerificationFact, type VerificationProvider } from './verification-provider';
import { Topic } from '../platform/shared/topics';
import { presentVerification, verificationChange, type CustomerVerification, type VerificationRequirement } from './verification.types';

const webhookActor = systemActor('verification-webhook');

/** Where a customer stands against one plan's requirement, from their verification rows. */
interface Standing {
  satisfied: boolean;
  current: Verification | null;
  stepsLeft: VerificationStep[];
  /** Whether a new session must ask for KYC again (no verdict stands, or the last one was a rejection). */
  kycRequired: boolean;
}

/**
 * KYC + e-sign before checkout. A plan with requiresVerification sells only to a customer with a
 * VERIFIED session (and, when the plan names a termsVersion, one that signed those terms), unless
 * their current verdict is a rejection. Sessions are rows committed before the provider is asked;
 * the provider's webhooks come through the inbox (gateway `verification`) to apply(); an operator
 * may override a verdict (audited), after which the provider's events for that session are ignored.
 */
export class VerificationService {
  constructor(
    private readonly db: Database,
    /** null: VERIFICATION_PROVIDER=off; only overrides verify. */
    private readonly provider: VerificationProvider | null,
    private readonly catalog: CatalogService,
    private readonly customers: CustomerService,
    private readonly alerts: AlertService,
    private readonly logger: Logger,
  ) {}

  /** The row Customer.verification shows, or null (NONE). */
  current(em: EntityManager, customerId: string): Promise<Verification | null> {
    return em.findOne(Verification, { customer: customerId, current: true });
  }

  async view(em: EntityManager, customerId: string): Promise<CustomerVerification> {
    return presentVerification(await this.current(em, customerId));
  }

  /**
   * createPayment's gate: null when the customer may pay for the plan; otherwise what is left, with
   * a session opened (or the open one reused) so the answer carries its URL. Never creates a payment
   * and never calls Stripe; the verification row records that a checkout was refused.
   */
  async checkoutGate(actor: Actor, customer: Customer, plan: Plan): Promise<VerificationRequirement | null> {
    if (!plan.requiresVerification) return null;
    const standing = await this.standing(this.db.fork(), customer.id, plan);
    if (standing.satisfied) return null;
    let row = standing.current;
    if (row?.status !== VerificationStatus.REJECTED && this.provider) {
      row = await this.openSession(actor, customer, plan, standing).catch((error: unknown) => {
        if (!(error instanceof VerificationProviderError)) throw error;
        this.logger.warn({ customerId: customer.id, planId: plan.id, reason: error.message }, 'verification session not opened; the customer is told to try again');
        return null;
      }) ?? (await this.current(this.db.fork(), customer.id));
    }
    if (row) await this.markBlocked(row.id, plan.id);
    return this.requirement(row, standing, plan);
  }

  /** startVerification: the customer's open session for the plan's terms, or a new one. */
  async start(actor: Actor, customerId: string, planId: string): Promise<VerificationRequirement> {
    const em = this.db.fork();
    const customer = await this.customers.require(em, customerId);
    if (customer.anonymizedAt) throw VerificationError.anonymised(customerId);
    const plan = await this.catalog.requirePlan(em, planId);
    if (!plan.requiresVerification) throw VerificationError.notRequired(plan.id);
    const standing = await this.standing(em, customer.id, plan);
    if (standing.satisfied) return this.requirement(standing.current, standing, plan);
    if (standing.current?.status === VerificationStatus.REJECTED && standing.current.overriddenAt) throw VerificationError.rejectedByOperator(customer.id);
    if (!this.provider) throw VerificationError.noProvider();
    try {
      const row = await this.openSession(actor, customer, plan, standing);
      return this.requirement(row, await this.standing(this.db.fork(), customer.id, plan), plan);
    } catch (error) {
      if (error instanceof VerificationProviderError) throw VerificationError.providerUnavailable(error.message);
      throw error;
    }
  }

  /**
   * The inbox applier for gateway `verification`, inside the event's applying transaction. Safe
   * twice and out of order: progress never touches a verdict, a verdict replaces another only when
   * the provider dated it later, and nothing the provider says changes a session an operator
   * overrode. The personal details are kept only while the customer is not anonymised (a late
   * event for an erased customer has its stored payload redacted at once).
   */
  async apply(tx: Tx, event: GatewayEvent): Promise<string> {
    if (!this.provider) throw new Error('a verification event arrived, but no verification provider is configured');
    const fact = this.provider.fact(event.payload);
    if (fact.kind === 'Ignored') return `ignored: ${fact.type}`;
    const row = await this.lockSession(tx, fact);
    if (!row) {
      await this.alerts.raise(tx, {
        type: AlertType.UNMATCHED_GATEWAY_EVENT,
        severity: AlertSeverity.MEDIUM,
        title: 'Verification event for no known session',
        detail: `Event ${event.eventId} (${event.type}) names verification ${fact.providerRef}, which Recoup never started`,
        subjectType: 'gateway_event',
        subjectId: event.id,
      });
      return `unmatched: no verification session ${fact.providerRef}`;
    }
    const customer = await tx.em.findOneOrFail(Customer, row.customer.id);
    if (customer.anonymizedAt) await redactVerificationEvent(tx, event.id);
    if (row.providerRef === null) row.providerRef = fact.providerRef;
    if (row.overriddenAt) return `skipped: overridden by ${row.overriddenBy} at ${row.overriddenAt.toISOString()}`;

    if (fact.kind === 'Progress') {
      if (row.status !== VerificationStatus.PENDING) return `skipped: progress after the verdict (${row.status})`;
      if (fact.stepsCompleted.includes('KYC')) row.kycDone = true;
      if (fact.stepsCompleted.includes('ESIGN')) row.esignDone = true;
      if (!row.providerEventAt || fact.occurredAt > row.providerEventAt) row.providerEventAt = fact.occurredAt;
      return `progress: ${fact.stepsCompleted.join(', ') || 'none'} completed`;
    }

    const before = row.status;
    if (before !== VerificationStatus.PENDING) {
      if (row.providerEventAt && fact.occurredAt <= row.providerEventAt) {
        return before === fact.outcome ? `duplicate: already ${before}` : `skipped: ${fact.outcome} is older than the ${before} verdict recorded`;
      }
    }
    row.status = fact.outcome === 'VERIFIED' ? VerificationStatus.VERIFIED : VerificationStatus.REJECTED;
    row.reason = fact.outcome === 'REJECTED' ? fact.reason : null;
    row.verdictAt = tx.clock.now();
    row.providerEventAt = fact.occurredAt;
    if (fact.kyc) {
      row.kycDone = true;
      row.nameMatched = fact.kyc.nameMatched;
      if (!customer.anonymizedAt) {
        row.panLast4 = fact.kyc.panLast4;
        row.kycName = fact.kyc.name;
      }
    } else if (fact.outcome === 'VERIFIED' && row.kycRequired) {
      row.kycDone = true;
    }
    if (fact.esign) {
      row.esignDone = true;
      row.termsVersion = fact.esign.termsVersion;
      row.signedAt = fact.esign.signedAt;
      row.documentSha256 = fact.esign.documentSha256;
      if (!customer.anonymizedAt) row.signedDocument = fact.esign.document;
    } else if (fact.outcome === 'VERIFIED') {
      // Verified without a signature covers no terms, whatever the session asked for.
      row.termsVersion = null;
    }
    // A VERIFIED session is what the customer now stands on: it becomes the one shown.
    if (row.status === VerificationStatus.VERIFIED && !row.current) await this.makeCurrent(tx, row);
    recordAudit(tx, webhookActor, {
      action: 'verification.verdict',
      subjectType: 'customer',
      subjectId: row.customer.id,
      before: { verificationId: row.id, status: before },
      after: { verificationId: row.id, status: row.status, termsVersion: row.termsVersion, signedAt: row.signedAt?.toISOString() ?? null, documentSha256: row.documentSha256 },
      note: `provider event ${event.eventId}`,
    });
    tx.publish(Topic.VERIFICATION_CHANGED, verificationChange(row, 'VERDICT', tx.clock.now()));
    return `${before} -> ${row.status}`;
  }

  /**
   * An operator's verdict (ADMIN), audited with their note: on the current session, or on a row of
   * its own when there is none. The provider's later events for that session change nothing.
   */
  async override(actor: Actor, customerId: string, status: VerificationStatus, note: string, termsVersion?: string | null): Promise<CustomerVerification> {
    if (status !== VerificationStatus.VERIFIED && status !== VerificationStatus.REJECTED) throw VerificationError.badOverride('status must be VERIFIED or REJECTED');
    const trimmed = note.trim();
    if (trimmed.length === 0 || trimmed.length > 2000) throw VerificationError.badOverride('note must be 1-2000 characters: why the verdict is overridden');
    const customer = await this.customers.require(this.db.fork(), customerId);
    return this.db.transaction(async (tx) => {
      await tx.em.findOneOrFail(Customer, customer.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
      let row = await tx.em.findOne(Verification, { customer: customer.id, current: true }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!row) {
        row = tx.em.create(Verification, { customer: customer.id, provider: OVERRIDE_PROVIDER, requestedTermsVersion: termsVersion ?? null, kycRequired: false });
        tx.em.persist(row);
      }
      const before = { verificationId: row.id, status: row.status, termsVersion: row.termsVersion, overridden: row.overriddenAt !== null };
      const now = tx.clock.now();
      row.status = status;
      row.reason = status === VerificationStatus.REJECTED ? trimmed : null;
      row.overriddenBy = actor.id;
      row.overriddenAt = now;
      row.overrideNote = trimmed;
      row.verdictAt = now;
      if (status === VerificationStatus.VERIFIED) {
        row.kycDone = true;
        row.termsVersion = termsVersion !== undefined ? termsVersion : (row.termsVersion ?? row.requestedTermsVersion);
      }
      recordAudit(tx, actor, {
        action: 'verification.override',
        subjectType: 'customer',
        subjectId: customer.id,
        before,
        after: { verificationId: row.id, status: row.status, termsVersion: row.termsVersion, overridden: true },
        note: trimmed,
      });
      await tx.em.flush();
      tx.publish(Topic.VERIFICATION_CHANGED, verificationChange(row, 'OVERRIDDEN', now));
      return presentVerification(row);
    });
  }

  private async standing(em: EntityManager, customerId: string, plan: Plan): Promise<Standing> {
    const rows = await em.find(Verification, { customer: customerId }, { orderBy: { createdAt: 'desc' } });
    const current = rows.find((r) => r.current) ?? null;
    const verified = rows.filter((r) => r.status === VerificationStatus.VERIFIED);
    const rejected = current?.status === VerificationStatus.REJECTED;
    const kycOk = !rejected && verified.length > 0;
    const termsOk = !rejected && (plan.termsVersion === null || verified.some((r) => r.termsVersion === plan.termsVersion));
    const stepsLeft = [...(kycOk ? [] : [VerificationStep.KYC]), ...(plan.termsVersion !== null && !termsOk ? [VerificationStep.ESIGN] : [])];
    return { satisfied: kycOk && termsOk, current, stepsLeft, kycRequired: !kycOk };
  }

  private requirement(row: Verification | null, standing: Standing, plan: Plan): VerificationRequirement {
    if (standing.satisfied) return { status: VerificationStatus.VERIFIED, stepsLeft: [], verificationUrl: null, reason: null, termsVersion: plan.termsVersion };
    const status = row?.status ?? VerificationStatus.NONE;
    return {
      // A VERIFIED row that does not cover this plan's terms leaves the customer PENDING for it.
      status: status === VerificationStatus.VERIFIED ? VerificationStatus.PENDING : status,
      stepsLeft: standing.stepsLeft,
      verificationUrl: row?.status === VerificationStatus.PENDING ? row.url : null,
      reason: row?.status === VerificationStatus.REJECTED ? row.reason : null,
      termsVersion: plan.termsVersion,
    };
  }

  /**
   * The open session for this plan's terms, or a new one (committed first, under the customer's row
   * lock, so two checkouts at once share one), then asked of the provider outside any transaction
   * with our id as the idempotency key. Throws VerificationProviderError when the provider fails:
   * the row stays PENDING without a URL, and the next attempt asks again with the same id.
   */
  private async openSession(actor: Actor, customer: Customer, plan: Plan, standing: Standing): Promise<Verification> {
    const row = await this.db.transaction(async (tx) => {
      await tx.em.findOneOrFail(Customer, customer.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const current = await tx.em.findOne(Verification, { customer: customer.id, current: true });
      const reusable = current && current.status === VerificationStatus.PENDING && !current.overriddenAt
        && current.provider === this.provider!.name && current.requestedTermsVersion === plan.termsVersion;
      if (reusable) return current;
      await tx.em.execute(`update verifications set current = false, updated_at = ? where customer_id = ? and current`, [tx.clock.now(), customer.id]);
      const created = tx.em.create(Verification, {
        customer: customer.id,
        plan: plan.id,
        provider: this.provider!.name,
        requestedTermsVersion: plan.termsVersion,
        kycRequired: standing.kycRequired,
        createdAt: tx.clock.now(),
      });
      recordAudit(tx, actor, { action: 'verification.start', subjectType: 'customer', subjectId: customer.id, after: { verificationId: created.id, planId: plan.id, termsVersion: plan.termsVersion, kycRequired: created.kycRequired } });
      await tx.em.flush();
      tx.publish(Topic.VERIFICATION_CHANGED, verificationChange(created, 'STARTED', tx.clock.now()));
      return created;
    });
    if (row.url) return row;
    const session = await this.provider!.start({
      verificationId: row.id,
      customer: { id: customer.id, name: customer.name, email: customer.email },
      terms: { version: row.requestedTermsVersion, kycRequired: row.kycRequired },
    });
    return this.db.transaction(async (tx) => {
      const locked = await tx.em.findOneOrFail(Verification, row.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
      locked.providerRef ??= session.providerRef;
      locked.url ??= session.url;
      return locked;
    });
  }

  private async markBlocked(verificationId: string, planId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const now = tx.clock.now();
      await tx.em.execute(`update verifications set payment_blocked_at = ?, plan_id = ?, updated_at = ? where id = ?`, [now, planId, now, verificationId]);
      const row = await tx.em.findOneOrFail(Verification, verificationId, { refresh: true });
      // The dashboard's list of customers blocked on verification changes.
      tx.publish(Topic.VERIFICATION_CHANGED, verificationChange(row, 'CHECKOUT_BLOCKED', now));
    });
  }

  /** Our id first (the provider echoes it as `reference`), else the provider's session id. */
  private async lockSession(tx: Tx, fact: Exclude<VerificationFact, { kind: 'Ignored' }>): Promise<Verification | null> {
    const byReference = fact.reference && isUuid(fact.reference)
      ? await tx.em.findOne(Verification, { id: fact.reference }, { lockMode: LockMode.PESSIMISTIC_WRITE })
      : null;
    if (byReference && (byReference.providerRef === null || byReference.providerRef === fact.providerRef)) return byReference;
    return tx.em.findOne(Verification, { providerRef: fact.providerRef }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  }

  private async makeCurrent(tx: Tx, row: Verification): Promise<void> {
    await tx.em.execute(`update verifications set current = false, updated_at = ? where customer_id = ? and current and id <> ?`, [tx.clock.now(), row.customer.id, row.id]);
    row.current = true;
  }
}

/**
 * Erasure hook: the personal details of a customer's verifications go (PAN fragment, the name read
 * from the document, the signed document); the verdict, termsVersion, signedAt and the document's
 * SHA-256 stay as the compliance record. One statement.
 */
export async function forgetVerificationDetails(tx: Tx, subject: ErasureSubject): Promise<void> {
  await tx.em.execute(
    `update verifications set pan_last4 = null, kyc_name = null, signed_document = null, updated_at = ?
      where customer_id = ? and (pan_last4 is not null or kyc_name is not null or signed_document is not null)`,
    [tx.clock.now(), subject.customerId],
  );
}
