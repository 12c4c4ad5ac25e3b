import type { EntityManager } from '@mikro-orm/postgresql';
import { InviteLink } from './invite-link.entity';

/**
 * Which of these payments' customers have joined a channel through one of the payment's invite
 * links: access fulfilled, for CAPTURE_ON=joined (manual capture and the no-show release).
 */
export async function paymentsJoined(em: EntityManager, paymentIds: readonly string[]): Promise<Set<string>> {
  if (paymentIds.length === 0) return new Set();
  const used = await em.find(InviteLink, { payment: { $in: [...paymentIds] }, usedAt: { $ne: null } }, { fields: ['payment'] });
  // A test link (createTestInviteLink) has no payment.
  return new Set(used.flatMap((link) => (link.payment ? [link.payment.id] : [])));
}
