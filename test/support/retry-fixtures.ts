import { systemActor } from '../../src/platform/database/transaction';
import type { Harness } from './harness';
import { seedCatalog } from './fixtures';

export const OPERATOR = systemActor('test-operator');

export interface FailedPayment {
  paymentId: string;
  customerId: string;
  amountMinor: number;
  paymentMethod: string;
}

/**
 * Failed off-session payments with a saved card, one customer each (one open payment per
 * customer and bundle), written by SQL: hundreds in milliseconds.
 */
export async function seedFailedPayments(h: Harness, amounts: number[], card: (i: number) => string = (i) => `pm_test_${i}`): Promise<FailedPayment[]> {
  const { planId, bundleId } = await seedCatalog(h);
  const em = h.app.services.db.fork();
  const now = h.clock.now();
  const rows: Array<{ payment_id: string; customer_id: string; amount_minor: number; pm: string }> = await em.execute(
    `with input as (select ord, amount, pm from unnest(?::int[], ?::text[]) with ordinality as t(amount, pm, ord)),
          c as (insert into customers (id, name, telegram_user_id, created_at, updated_at)
                select gen_random_uuid(), 'Retry customer ' || ord, (800000000 + ord)::text, ?, ? from input returning id, name),
          numbered as (select c.id, i.amount, i.pm from c join input i on c.name = 'Retry customer ' || i.ord)
     insert into payments (id, customer_id, plan_id, bundle_id, amount_minor, currency, status, capture_mode, kind,
                           stripe_customer_id, stripe_payment_method_id, failed_at, status_changed_at, created_at, updated_at)
     select gen_random_uuid(), id, ?, ?, amount, 'usd', 'FAILED', 'AUTOMATIC', 'OFF_SESSION', 'cus_' || pm, pm, ?, ?, ?, ?
       from numbered
     returning id as payment_id, customer_id, amount_minor, stripe_payment_method_id as pm`,
    // Postgres array literals: knex would spread a JS array into a list of parameters.
    [`{${amounts.join(',')}}`, `{${amounts.map((_, i) => card(i)).join(',')}}`, now, now, planId, bundleId, now, now, now, now],
  );
  return rows.map((r) => ({ paymentId: r.payment_id, customerId: r.customer_id, amountMinor: r.amount_minor, paymentMethod: r.pm }));
}

/** queueRetry through the service (the GraphQL path is tested on its own). */
export async function queueRetry(h: Harness, paymentId: string, error: { code?: string; declineCode?: string; statusCode?: number }) {
  return h.app.services.retryRequests.queueRetry(OPERATOR, {
    paymentId,
    error: { code: error.code ?? null, declineCode: error.declineCode ?? null, message: 'test failure', statusCode: error.statusCode },
  });
}

export async function jobOf(h: Harness, paymentId: string) {
  return h.app.services.retryQueue.latest(h.app.services.db.fork(), paymentId);
}

/** POST /v1/payment_intents requests to the fake Stripe, grouped by the retry job in their metadata. */
export function chargesByJob(h: Harness): Map<string, Array<{ key: string | null; amount: number }>> {
  const byJob = new Map<string, Array<{ key: string | null; amount: number }>>();
  for (const request of h.stripe.requests) {
    if (request.method !== 'POST' || request.path !== '/v1/payment_intents') continue;
    const jobId = String((request.body.metadata as Record<string, string> | undefined)?.retryJobId);
    byJob.set(jobId, [...(byJob.get(jobId) ?? []), { key: request.idempotencyKey, amount: Number(request.body.amount) }]);
  }
  return byJob;
}

export function advance(h: Harness, ms: number): Date {
  return (h.clock as unknown as { advance(ms: number): Date }).advance(ms);
}
