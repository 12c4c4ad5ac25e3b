import Stripe from 'stripe';
import { startHarness, WEBHOOK_SECRET, type Harness } from '../support/harness';

/**
 * Rolling the webhook endpoint's secret: for a while Stripe signs with the old and the new one,
 * so STRIPE_WEBHOOK_SECRET lists both and an event signed by either is accepted.
 */
const NEW_SECRET = 'whsec_rotated_in_2026';

describe('webhook secret rotation', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { STRIPE_WEBHOOK_SECRET: `${NEW_SECRET}, ${WEBHOOK_SECRET}` } });
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  let n = 0;
  async function post(secret: string) {
    const body = JSON.stringify({ id: `evt_rotation_${++n}`, object: 'event', type: 'customer.created', created: 1_767_225_600, livemode: false, data: { object: { id: `cus_rotation_${n}`, object: 'customer' } } });
    const signature = Stripe.webhooks.generateTestHeaderString({ payload: body, secret });
    const response = await fetch(`${h.url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body });
    await h.app.services.intake.whenIdle();
    return { status: response.status, eventId: `evt_rotation_${n}` };
  }
  const stored = async () => (await h.app.services.db.fork().execute<Array<{ event_id: string }>>(`select event_id from gateway_events order by received_at`)).map((r) => r.event_id);

  it('accepts an event signed with the new secret and one signed with the old', async () => {
    const fresh = await post(NEW_SECRET);
    const old = await post(WEBHOOK_SECRET);
    expect([fresh.status, old.status]).toEqual([200, 200]);
    expect(await stored()).toEqual([fresh.eventId, old.eventId]);
  });

  it('still refuses a secret that is not listed, with 400 and nothing stored', async () => {
    const other = await post('whsec_not_ours');
    expect(other.status).toBe(400);
    expect(await stored()).toEqual([]);
  });
});
