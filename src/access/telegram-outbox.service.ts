import type { EntityManager } from '@mikro-orm/postgresql';
import type { AlertService } from '../alerts/alert.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import { personalValuePattern, type ErasureSubject } from '../customers/personal-data-copies';
import type { Database, Tx } from '../platform/database/transaction';
import { LeaseQueue } from '../platform/jobs/lease-queue';
import type { BackoffPolicy } from '../platform/shared/backoff';
import type { Logger } from '../platform/observability/logger';
import type { TelegramClient } from '../integrations/telegram/telegram.client';
import { TelegramError } from '../integrations/telegram/telegram.errors';
import { TelegramOutboxItem, type TelegramActionKind } from './telegram-outbox.entity';

export interface OwedCall {
  kind: TelegramActionKind;
  params: Record<string, string>;
}

interface Claimed extends OwedCall {
  id: string;
  attempts: number;
}

/** done: made, already done at Telegram, or no longer wanted (a guard said why); gave-up: retries spent. */
export type OutboxOutcome = { kind: 'done' } | { kind: 'gave-up'; error: string };

/** Asked right before the call: a reason it is no longer wanted, or null to make it. */
export type OutboxGuard = (em: EntityManager, params: Record<string, string>) => Promise<string | null>;

/** Runs in the transaction that settles a call (its row already deleted). */
export type OutboxSettled = (tx: Tx, call: OwedCall, outcome: OutboxOutcome) => Promise<void>;

/**
 * Answers that mean the call's purpose is already met: the link is already dead, the join request
 * was already answered (by us on an earlier attempt, or by an admin), the user is already in.
 * https://core.telegram.org/bots/api#revokechatinvitelink
 */
const ALREADY_DONE = /INVITE_HASH_EXPIRED|HIDE_REQUESTER_MISSING|USER_ALREADY_PARTICIPANT/i;

/** What an operator must hear about when it cannot be done; a lost reply to a chat message is not. */
const SEVERITY: Record<TelegramActionKind, AlertSeverity | null> = {
  sendMessage: null,
  revokeInviteLink: AlertSeverity.MEDIUM,
  approveJoinRequest: AlertSeverity.HIGH,
  declineJoinRequest: AlertSeverity.LOW,
  // Someone keeps a channel they no longer pay for.
  removeChatMember: AlertSeverity.HIGH,
};

/**
 * Telegram calls decided in a transaction (replies, link revokes, join decisions, removals when
 * access ends): queued in that transaction, attempted right after commit, and retried by the outbox job with
 * backoff until done or a bounded number of attempts is spent (then an Alert). Each pending call is a
 * row (the table, not the job, is the source of truth), claimed with SKIP LOCKED and a lease.
 */
export class TelegramOutbox {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly guards = new Map<TelegramActionKind, OutboxGuard>();
  private readonly settledHooks: OutboxSettled[] = [];
  private readonly queue: LeaseQueue<Claimed>;

  constructor(
    private readonly db: Database,
    private readonly telegram: TelegramClient,
    private readonly alerts: AlertService,
    settings: { maxAttempts: number; leaseMs: number; backoff: BackoffPolicy },
    private readonly logger: Logger,
  ) {
    // The claim counts the attempt, so a call whose worker died mid-way is still one of the budget.
    this.queue = new LeaseQueue<Claimed>({
      table: 'telegram_outbox',
      countOnClaim: true,
      maxAttempts: settings.maxAttempts,
      lastError: { column: 'last_error', maxLength: 1000 },
      returning: 'id, kind, params, attempts',
      leaseMs: settings.leaseMs,
      backoff: settings.backoff,
    });
  }

  enqueue(tx: Tx, kind: TelegramActionKind, params: Record<string, string>): void {
    const item = tx.em.create(TelegramOutboxItem, { kind, params, nextAttemptAt: tx.clock.now() });
    tx.em.persist(item);
    // Not awaited: the update is acknowledged on commit, not when Telegram answers these calls.
    tx.afterCommit(() => void this.track(this.runClaimed(this.queue.claim(this.db.fork(), { now: this.db.clock.now(), limit: 1, ids: [item.id] }))));
  }

  guard(kind: TelegramActionKind, guard: OutboxGuard): void {
    this.guards.set(kind, guard);
  }

  onSettled(hook: OutboxSettled): void {
    this.settledHooks.push(hook);
  }

  /** The job: claims due items (SKIP LOCKED, so instances share the work) and attempts them. */
  async runDue(limit: number): Promise<{ attempted: number }> {
    const claim = this.queue.claim(this.db.fork(), { now: this.db.clock.now(), limit });
    return { attempted: await this.runClaimed(claim) };
  }

  /** Resolves once the calls started after commit have finished (tests, graceful stop). */
  async whenIdle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private track(work: Promise<unknown>): Promise<void> {
    const tracked = work.then(() => undefined, (error: unknown) => this.logger.error({ err: error }, 'telegram outbox run failed'));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return tracked;
  }

  private async runClaimed(claim: Promise<Claimed[]>): Promise<number> {
    const items = await claim;
    for (const item of items) await this.attempt(item);
    return items.length;
  }

  private async attempt(item: Claimed): Promise<void> {
    try {
      const moot = await this.guards.get(item.kind)?.(this.db.fork(), item.params);
      if (moot) {
        this.logger.info({ outboxId: item.id, kind: item.kind, reason: moot }, 'telegram call no longer wanted');
        return await this.finish(item);
      }
      await this.call(item);
      await this.finish(item);
    } catch (error) {
      if (error instanceof TelegramError && ALREADY_DONE.test(error.description)) return this.finish(item);
      await this.failed(item, error);
    }
  }

  private async call({ kind, params }: Claimed): Promise<unknown> {
    if (kind === 'sendMessage') return this.telegram.sendMessage(params.chatId, params.text);
    if (kind === 'revokeInviteLink') return this.telegram.revokeChatInviteLink(params.chatId, params.inviteLink);
    if (kind === 'approveJoinRequest') return this.telegram.approveChatJoinRequest(params.chatId, params.userId);
    if (kind === 'removeChatMember') return this.removeMember(params.chatId, params.userId);
    return this.telegram.declineChatJoinRequest(params.chatId, params.userId);
  }

  /**
   * Ban then unban with only_if_banned: out of the chat, yet free to rejoin after buying again. A
   * repeat after a lost answer does the same again, so the pair is one call that is safe to retry.
   * https://core.telegram.org/bots/api#unbanchatmember
   */
  private async removeMember(chatId: string, userId: string): Promise<void> {
    await this.telegram.banChatMember(chatId, userId);
    await this.telegram.unbanChatMember(chatId, userId);
  }

  private async finish(item: Claimed): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.em.execute(`delete from telegram_outbox where id = ?`, [item.id]);
      if (item.kind === 'revokeInviteLink') {
        await tx.em.execute(`update invite_links set revoked_at = ?, updated_at = ? where id = ? and revoked_at is null`, [tx.clock.now(), tx.clock.now(), item.params.linkId]);
      }
      for (const hook of this.settledHooks) await hook(tx, item, { kind: 'done' });
    });
  }

  private async failed(item: Claimed, error: unknown): Promise<void> {
    const telegramError = error instanceof TelegramError ? error : null;
    const message = (error as Error).message ?? String(error);
    const retry = (telegramError?.retryable ?? true) && !this.queue.spent(item.attempts);
    this.logger.warn({ outboxId: item.id, kind: item.kind, attempt: item.attempts, err: message, retry }, 'telegram call failed');
    await this.db.transaction(async (tx) => {
      if (retry) {
        await this.queue.retryLater(tx.em, item.id, item.attempts, tx.clock.now(), message, { atLeastMs: telegramError?.retryAfterMs ?? 0 });
        return;
      }
      await tx.em.execute(`delete from telegram_outbox where id = ?`, [item.id]);
      await this.giveUp(tx, item, message);
      for (const hook of this.settledHooks) await hook(tx, item, { kind: 'gave-up', error: message.slice(0, 500) });
    });
  }

  private async giveUp(tx: Tx, item: Claimed, message: string): Promise<void> {
    const severity = SEVERITY[item.kind];
    if (!severity) return;
    const subject = item.params.linkId ? { subjectType: 'invite_link', subjectId: item.params.linkId } : { subjectType: 'channel', subjectId: item.params.channelId };
    await this.alerts.raise(tx, {
      type: AlertType.TELEGRAM_ACTION_FAILED,
      severity,
      title: `Telegram ${item.kind} could not be done`,
      detail: `Gave up after ${item.attempts} attempt(s): ${message}. Do it by hand in Telegram if it still matters.`,
      ...subject,
      fingerprint: `${AlertType.TELEGRAM_ACTION_FAILED}:${item.id}`,
    });
  }
}

/**
 * Erasure hook: calls still owed to or about the person (a reply to their private chat, the answer
 * to their join request) are dropped with their Telegram id; nobody is left to receive them. A
 * link revoke names no user and stays. No removal is owed by then: the expiry job erases only
 * customers whose removals are all recorded done.
 */
export async function forgetOutboxUser(tx: Tx, subject: ErasureSubject): Promise<void> {
  const pattern = personalValuePattern(subject, { name: false });
  if (!subject.telegramUserId && !pattern) return;
  await tx.em.execute(
    `delete from telegram_outbox
      where params ->> 'userId' = ? or params ->> 'chatId' = ? or (?::text is not null and params::text ~* ?)`,
    [subject.telegramUserId ?? '', subject.telegramUserId ?? '', pattern, pattern],
  );
}
