import type { EntityManager } from '@mikro-orm/postgresql';
import { budgetWindowStart } from './retry-policy';

/**
 * The per-card retry budget (card networks penalise excessive retries: Visa allows 15 in 30
 * days). Counted over the attempts table, across every job that charges the card, so no job
 * can spend another's share; retry_attempts_card_budget makes the count an index range.
 */
export class RetryBudget {
  constructor(
    readonly limit: number,
    private readonly windowDays: number,
  ) {}

  /** Retries per card for a whole batch, in one query. */
  async usedByCards(em: EntityManager, stripePaymentMethodIds: string[], now: Date): Promise<Map<string, number>> {
    const cards = [...new Set(stripePaymentMethodIds)];
    if (cards.length === 0) return new Map();
    const rows: Array<{ card: string; n: number }> = await em.execute(
      `select stripe_payment_method_id as card, count(*)::int as n from retry_attempts
        where stripe_payment_method_id = any(?::text[]) and is_retry and started_at > ? group by 1`,
      [`{${cards.map((c) => JSON.stringify(c)).join(',')}}`, budgetWindowStart(now, this.windowDays)],
    );
    return new Map(rows.map((r) => [r.card, r.n]));
  }

  async used(em: EntityManager, stripePaymentMethodId: string | null, now: Date): Promise<number> {
    if (!stripePaymentMethodId) return 0;
    const rows: Array<{ n: number }> = await em.execute(
      `select count(*)::int as n from retry_attempts where stripe_payment_method_id = ? and is_retry and started_at > ?`,
      [stripePaymentMethodId, budgetWindowStart(now, this.windowDays)],
    );
    return rows[0]?.n ?? 0;
  }
}
