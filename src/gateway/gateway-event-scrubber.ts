import type { Tx } from '../database/transaction';

/**
 * Gateway payloads hold personal data (checkout emails, Telegram names). When a customer is erased,
 * the events about their payments or their Telegram account keep their type and ids but lose the
 * payload. Matching is by our payment ids (metadata), their Stripe ids, and their Telegram user id.
 */
export async function scrubGatewayEvents(tx: Tx, subject: { customerId: string; telegramUserId: string | null }): Promise<void> {
  const ids: Array<{ id: string; pi: string | null; cs: string | null }> = await tx.em.execute(
    `select id, stripe_payment_intent_id as pi, stripe_checkout_session_id as cs from payments where customer_id = ?`,
    [subject.customerId],
  );
  const paymentIds = ids.map((r) => r.id);
  const stripeIds = ids.flatMap((r) => [r.pi, r.cs]).filter((v): v is string => Boolean(v));
  const redacted = JSON.stringify({ redacted: true, reason: 'customer personal data deleted' });
  // Knex expands an array parameter into a list, hence array[?]; stripeIds may be empty, paymentIds not.
  if (paymentIds.length > 0) {
    await tx.em.execute(
      `update gateway_events set payload = ?::jsonb
        where gateway = 'stripe'
          and (payload #>> '{data,object,metadata,paymentId}' = any(array[?]::text[])
               or payload #>> '{data,object,id}' = any(array[?]::text[])
               or payload #>> '{data,object,payment_intent}' = any(array[?]::text[]))`,
      [redacted, paymentIds, stripeIds.length ? stripeIds : [''], stripeIds.length ? stripeIds : ['']],
    );
  }
  if (subject.telegramUserId) {
    await tx.em.execute(
      `update gateway_events set payload = ?::jsonb
        where gateway = 'telegram'
          and ? in (payload #>> '{message,from,id}', payload #>> '{chat_member,from,id}', payload #>> '{chat_member,new_chat_member,user,id}', payload #>> '{chat_join_request,from,id}')`,
      [redacted, subject.telegramUserId],
    );
  }
}
