import { randomUUID } from 'node:crypto';
import type { RecoupApp } from '../../src/app/app';
import { CaptureMode } from '../../src/catalog/plan.entity';
import { systemActor } from '../../src/platform/database/transaction';
import type { FakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';
import type { PayoutInput } from '../../src/sandbox/stripe/fake-stripe.money';
import { plantIntent, unix, type IntentSpec } from './fake-stripe-plant';

export type { IntentSpec } from './fake-stripe-plant';

/**
 * Builds a large population fast for the reconciliation suite and bench: our rows by SQL in bulk,
 * Stripe's objects straight into the fake's store (no events, no HTTP). Payments each get their
 * own customer, so the one-open-payment-per-bundle and one-subscription-per-bundle rules hold.
 */
export const DAY = 86_400_000;
export const HOUR = 3_600_000;

export interface PaymentSpec {
  status: string;
  manual?: boolean;
  amountMinor?: number;
  refundedMinor?: number;
  createdAt: Date;
  statusChangedAt?: Date;
  authorizedAt?: Date | null;
  deliveryStatus?: string | null;
  /** null: no PaymentIntent at Stripe. */
  intent: Omit<IntentSpec, 'created'> & { created?: Date } | null;
}

interface Catalog {
  planId: string;
  bundleId: string;
}


/**
 * Stripe's side of a scenario: the fake in this process (the jest suite), or one in a worker
 * thread (the bench, so the fake's own work and garbage do not count against Recoup's run).
 */
export interface StripeSide {
  /** Plants an intent and answers its id at once (remote sides send in batches). */
  intent(spec: IntentSpec, paymentId: string | null): string;
  payout(input: PayoutInput): Promise<string>;
  /** An event about the intent that Stripe could not deliver; answers the event id. */
  undeliveredEvent(type: string, intentId: string, created: Date): Promise<string>;
  markEventsDelivered(): Promise<void>;
  flush(): Promise<void>;
}

export class LocalStripe implements StripeSide {
  constructor(readonly fake: FakeStripe) {}

  intent(spec: IntentSpec, paymentId: string | null): string {
    return plantIntent(this.fake, spec, paymentId).id;
  }

  async payout(input: PayoutInput): Promise<string> {
    return (await this.fake.createPayout(input, { sendWebhooks: false })).payout.id;
  }

  async undeliveredEvent(type: string, intentId: string, created: Date): Promise<string> {
    return this.fake.createEvent(type, this.fake.store.paymentIntents.get(intentId), { deliverySuccess: false, created: unix(created) }).id;
  }

  async markEventsDelivered(): Promise<void> {
    this.fake.markEventsDelivered();
  }

  async flush(): Promise<void> {}
}

export class ReconciliationScenario {
  private customers: Array<{ id: string }> = [];
  private payments: Array<Record<string, unknown>> = [];
  private deliveries: Array<Record<string, unknown>> = [];
  private subscriptions: Array<Record<string, unknown>> = [];
  private readonly known = new Set<string>();

  private constructor(
    readonly app: RecoupApp,
    readonly stripe: StripeSide,
    private readonly auto: Catalog,
    private readonly manual: Catalog,
  ) {}

  /** Two plans (automatic and manual capture) created through the services. */
  static async create(app: RecoupApp, stripe: StripeSide): Promise<ReconciliationScenario> {
    const actor = systemActor('seed');
    const { catalog } = app.services;
    const channel = await catalog.saveChannel(actor, null, { telegramChatId: `-100${Date.now()}`, title: 'Seed channel' });
    const plans: Catalog[] = [];
    for (const captureMode of [CaptureMode.AUTOMATIC, CaptureMode.MANUAL]) {
      const bundle = await catalog.saveBundle(actor, null, { name: `Seed ${captureMode}`, channelIds: [channel.id] });
      const plan = await catalog.savePlan(actor, null, { bundleId: bundle.id, name: `Seed ${captureMode}`, amountMinor: 2500, currency: 'usd', durationDays: 30, captureMode });
      plans.push({ planId: plan.id, bundleId: bundle.id });
    }
    return new ReconciliationScenario(app, stripe, plans[0], plans[1]);
  }

  /** A payment of ours (with its own customer) and, unless `intent` is null, its PaymentIntent at Stripe. */
  payment(spec: PaymentSpec): { id: string; customerId: string; intentId: string | null; bundleId: string } {
    const id = randomUUID();
    const customerId = randomUUID();
    const catalog = spec.manual ? this.manual : this.auto;
    const intentId = spec.intent ? this.stripe.intent({ ...spec.intent, created: spec.intent.created ?? new Date(spec.createdAt.getTime() + 60_000) }, id) : null;
    this.customers.push({ id: customerId });
    this.known.add(customerId);
    this.payments.push({
      id, customer_id: customerId, plan_id: catalog.planId, bundle_id: catalog.bundleId, amount_minor: spec.amountMinor ?? 2500, currency: 'usd',
      status: spec.status, capture_mode: spec.manual ? 'MANUAL' : 'AUTOMATIC', stripe_payment_intent_id: intentId,
      refunded_minor: spec.refundedMinor ?? 0, created_at: spec.createdAt, status_changed_at: spec.statusChangedAt ?? spec.createdAt,
      authorized_at: spec.authorizedAt ?? null,
    });
    if (spec.deliveryStatus) this.deliveries.push({ payment_id: id, status: spec.deliveryStatus });
    return { id, customerId, intentId, bundleId: catalog.bundleId };
  }

  /** An active subscription for a customer of this scenario. */
  subscription(customerId: string, bundleId: string, lastPaymentId: string | null, now: Date): string {
    const id = randomUUID();
    if (!this.known.has(customerId)) this.customers.push({ id: customerId });
    this.subscriptions.push({ id, customer_id: customerId, bundle_id: bundleId, current_period_start: new Date(now.getTime() - 5 * DAY), current_period_end: new Date(now.getTime() + 25 * DAY), last_payment_id: lastPaymentId });
    return id;
  }

  /** Writes the rows in bulk (5,000 a statement). */
  async flush(): Promise<void> {
    await this.stripe.flush();
    await this.insert('customers', 'id uuid', `id, name`, `id, 'Seed customer'`, this.customers);
    await this.insert('payments', PAYMENT_TYPES, PAYMENT_COLUMNS, PAYMENT_COLUMNS, this.payments);
    await this.insert('deliveries', 'payment_id uuid, status text', 'payment_id, status', 'payment_id, status', this.deliveries);
    await this.insert('subscriptions', SUBSCRIPTION_TYPES, `${SUBSCRIPTION_COLUMNS}, status`, `${SUBSCRIPTION_COLUMNS}, 'ACTIVE'`, this.subscriptions);
    await this.app.services.db.fork().execute('analyze payments');
    this.customers = [];
    this.payments = [];
    this.deliveries = [];
    this.subscriptions = [];
  }

  bundleOf(manual: boolean): string {
    return (manual ? this.manual : this.auto).bundleId;
  }

  private async insert(table: string, types: string, columns: string, select: string, rows: unknown[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 5000) {
      const chunk = JSON.stringify(rows.slice(i, i + 5000));
      await this.app.services.db.fork().execute(`insert into ${table} (${columns}) select ${select} from json_to_recordset(?::json) as x(${types})`, [chunk]);
    }
  }
}

const PAYMENT_COLUMNS = 'id, customer_id, plan_id, bundle_id, amount_minor, currency, status, capture_mode, stripe_payment_intent_id, refunded_minor, created_at, status_changed_at, authorized_at';
const PAYMENT_TYPES = 'id uuid, customer_id uuid, plan_id uuid, bundle_id uuid, amount_minor int, currency text, status text, capture_mode text, stripe_payment_intent_id text, refunded_minor int, created_at timestamptz, status_changed_at timestamptz, authorized_at timestamptz';
const SUBSCRIPTION_COLUMNS = 'id, customer_id, bundle_id, current_period_start, current_period_end, last_payment_id';
const SUBSCRIPTION_TYPES = 'id uuid, customer_id uuid, bundle_id uuid, current_period_start timestamptz, current_period_end timestamptz, last_payment_id uuid';
