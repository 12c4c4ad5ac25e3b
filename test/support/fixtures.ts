import type { GqlResult, Harness } from './harness';

/** The data of a result that must have succeeded; otherwise the errors, loudly. */
export function must<T = Record<string, any>>(result: GqlResult<T>): T {
  if (result.errors || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

/** A channel, a bundle, a plan and a customer, created through the public API as an admin would. */
export async function seedCatalog(h: Harness, opts: { captureMode?: 'AUTOMATIC' | 'MANUAL'; amountMinor?: number; chatId?: string } = {}) {
  const chatId = opts.chatId ?? `-100${Math.floor(Math.random() * 1e10)}`;
  const channel = await h.gql(`mutation($i: ChannelInput!) { createChannel(input: $i) { id } }`, { i: { telegramChatId: chatId, title: 'Signals' } });
  const channelId = must(channel).createChannel.id as string;
  const bundle = await h.gql(`mutation($i: BundleInput!) { createBundle(input: $i) { id } }`, { i: { name: 'Pro bundle', channelIds: [channelId] } });
  const bundleId = must(bundle).createBundle.id as string;
  const plan = await h.gql(`mutation($i: PlanInput!) { createPlan(input: $i) { id } }`, {
    i: { bundleId, name: 'Pro monthly', amountMinor: opts.amountMinor ?? 2500, currency: 'usd', durationDays: 30, captureMode: opts.captureMode ?? 'AUTOMATIC' },
  });
  const customer = await h.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, {
    i: { name: 'Dana Buyer', email: 'dana@example.com', phone: '+14155550100', telegramUserId: '700100200' },
  });
  return { channelId, bundleId, planId: must(plan).createPlan.id as string, customerId: must(customer).createCustomer.id as string };
}

export const CHECKOUT_FIELDS = `outcome message payment { id status amountMinor currency checkoutUrl stripeCheckoutSessionId }
  conflict { ageMinutes minutesRemaining stale payment { id status checkoutUrl } actions { type url paymentId } }
  warnings { payment { id bundleId } }`;

/** Starts a checkout that must succeed (outcome CREATED) and returns the new payment. */
export async function createPayment(h: Harness, customerId: string, planId: string) {
  const result = must(await h.gql(`mutation($i: CreatePaymentInput!) { createPayment(input: $i) { ${CHECKOUT_FIELDS} } }`, { i: { customerId, planId } }, { token: h.tokens.operator }));
  if (result.createPayment.outcome !== 'CREATED') throw new Error(`expected CREATED, got ${JSON.stringify(result.createPayment)}`);
  return result.createPayment.payment as { id: string; status: string; checkoutUrl: string; stripeCheckoutSessionId: string; amountMinor: number };
}

export async function paymentStatus(h: Harness, id: string): Promise<string> {
  const result = await h.gql(`query($id: ID!) { payment(id: $id) { status } }`, { id });
  return result.data!.payment.status as string;
}

/** A PENDING payment whose card Stripe declined, with the payment_intent.payment_failed event not yet delivered. */
export async function declinedPaymentEvent(h: Harness) {
  const { customerId, planId } = await seedCatalog(h);
  const { id } = await createPayment(h, customerId, planId);
  const { paymentIntent } = await h.stripe.createPaymentIntentDirect(
    { amount: 2500, currency: 'usd', metadata: { paymentId: id }, status: 'requires_payment_method' },
    { sendWebhooks: false },
  );
  const { events } = await h.stripe.failPaymentIntent(paymentIntent.id, { code: 'card_declined', declineCode: 'expired_card' }, { sendWebhooks: false });
  return { paymentId: id, paymentIntent, event: events.find((e) => e.type === 'payment_intent.payment_failed')! };
}
