import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit } from '../audit/audit.service';
import type { Actor, Database, Tx } from '../platform/database/transaction';
import { AppError } from '../platform/shared/errors';
import { isUuid } from '../platform/shared/ids';
import { Bundle } from './bundle.entity';
import { Channel } from './channel.entity';
import { cashfreeCurrencySupported } from '../integrations/cashfree/money';
import { CaptureMode, PaymentGatewayName, Plan } from './plan.entity';

export interface ChannelFields { telegramChatId?: string; title?: string; requiresApproval?: boolean }
export interface BundleFields { name?: string; description?: string | null; active?: boolean; channelIds?: string[] }
export interface PlanFields { bundleId?: string; name?: string; amountMinor?: number; currency?: string; durationDays?: number; captureMode?: CaptureMode; gateway?: PaymentGatewayName; active?: boolean; requiresVerification?: boolean; termsVersion?: string | null }

type CatalogKind = 'channel' | 'bundle' | 'plan';

/** Fields a new row must be given, and fields no row may be without (the columns are NOT NULL). */
const NEEDED_TO_CREATE: Record<CatalogKind, string[]> = {
  channel: ['telegramChatId', 'title'],
  bundle: ['name'],
  plan: ['bundleId', 'name', 'amountMinor', 'currency', 'durationDays'],
};
const NEVER_NULL: Record<CatalogKind, string[]> = {
  channel: [...NEEDED_TO_CREATE.channel, 'requiresApproval'],
  bundle: [...NEEDED_TO_CREATE.bundle, 'active'],
  plan: [...NEEDED_TO_CREATE.plan, 'captureMode', 'gateway', 'active', 'requiresVerification'],
};

/** A create without a required field, or an update that clears one, is the caller's error, named, before any SQL. */
function assertComplete(kind: CatalogKind, fields: object, creating: boolean): void {
  const values = fields as Record<string, unknown>;
  const missing = creating ? NEEDED_TO_CREATE[kind].filter((key) => values[key] === undefined || values[key] === null) : [];
  const cleared = NEVER_NULL[kind].filter((key) => values[key] === null && !missing.includes(key));
  if (missing.length > 0) throw AppError.badInput(`A new ${kind} needs ${missing.join(', ')}`, { fields: missing });
  if (cleared.length > 0) throw AppError.badInput(`${cleared.join(', ')} cannot be null`, { fields: cleared });
}

/**
 * What a gateway can sell, checked on the plan as it will be: Cashfree has no separate capture
 * (an order is paid or not), and its amounts have two decimals.
 */
function assertGatewayFits(plan: { gateway: PaymentGatewayName; captureMode: CaptureMode; currency: string }): void {
  if (plan.gateway !== PaymentGatewayName.CASHFREE) return;
  if (plan.captureMode === CaptureMode.MANUAL) {
    throw AppError.badInput('A CASHFREE plan cannot use MANUAL capture: Cashfree checkout captures at once', { fields: ['gateway', 'captureMode'] });
  }
  if (!cashfreeCurrencySupported(plan.currency)) {
    throw AppError.badInput(`A CASHFREE plan needs a currency with two decimals (${plan.currency.toUpperCase()} has not)`, { fields: ['gateway', 'currency'] });
  }
}

/** Channels, bundles and plans. Every change is audited. */
export class CatalogService {
  constructor(
    private readonly db: Database,
    /** The gateway of a plan created without one (DEFAULT_GATEWAY). */
    private readonly defaultGateway: PaymentGatewayName = PaymentGatewayName.STRIPE,
  ) {}

  async saveChannel(actor: Actor, id: string | null, fields: ChannelFields): Promise<Channel> {
    assertComplete('channel', fields, !id);
    return this.db.transaction(async (tx) => {
      if (fields.telegramChatId) await this.assertChatIdFree(tx, fields.telegramChatId, id);
      const channel = id ? await this.require(tx.em, Channel, id) : tx.em.create(Channel, { telegramChatId: fields.telegramChatId!, title: fields.title! });
      return this.applyAndAudit(tx, actor, 'channel', channel, fields, !id);
    });
  }

  async saveBundle(actor: Actor, id: string | null, fields: BundleFields): Promise<Bundle> {
    assertComplete('bundle', fields, !id);
    return this.db.transaction(async (tx) => {
      const bundle = id ? await this.require(tx.em, Bundle, id, ['channels']) : tx.em.create(Bundle, { name: fields.name! });
      const { channelIds, ...rest } = fields;
      if (channelIds) {
        const channels = await tx.em.find(Channel, { id: { $in: channelIds.filter(isUuid) } });
        const missing = channelIds.filter((cid) => !channels.some((c) => c.id === cid));
        if (missing.length > 0) throw AppError.badInput(`Unknown channel ids: ${missing.join(', ')}`, { missing });
        bundle.channels.set(channels);
      }
      return this.applyAndAudit(tx, actor, 'bundle', bundle, { ...rest, ...(channelIds ? { channelIds } : {}) }, !id, ['channelIds']);
    });
  }

  async savePlan(actor: Actor, id: string | null, fields: PlanFields): Promise<Plan> {
    assertComplete('plan', fields, !id);
    return this.db.transaction(async (tx) => {
      const { bundleId, ...rest } = fields;
      if (!id) rest.gateway ??= this.defaultGateway;
      const bundle = bundleId ? await this.require(tx.em, Bundle, bundleId) : null;
      const plan = id
        ? await this.require(tx.em, Plan, id)
        : tx.em.create(Plan, { bundle: bundle!, name: fields.name!, amountMinor: fields.amountMinor!, currency: fields.currency!, durationDays: fields.durationDays! });
      if (bundle) plan.bundle = tx.em.getReference(Bundle, bundle.id, { wrapped: true });
      if (rest.currency) rest.currency = rest.currency.toLowerCase();
      assertGatewayFits({ gateway: rest.gateway ?? plan.gateway, captureMode: rest.captureMode ?? plan.captureMode, currency: rest.currency ?? plan.currency });
      return this.applyAndAudit(tx, actor, 'plan', plan, { ...rest, ...(bundleId ? { bundleId } : {}) }, !id, ['bundleId']);
    });
  }

  async channelsOf(em: EntityManager, bundleId: string): Promise<Channel[]> {
    const bundle = await this.require(em, Bundle, bundleId, ['channels']);
    return bundle.channels.getItems();
  }

  async requirePlan(em: EntityManager, planId: string): Promise<Plan> {
    return this.require(em, Plan, planId, ['bundle']);
  }

  private async require<T extends object>(em: EntityManager, entity: new () => T, id: string, populate: string[] = []): Promise<T> {
    const found = isUuid(id) ? await em.findOne(entity, { id } as never, { populate: populate as never }) : null;
    if (!found) throw AppError.notFound(entity.name, id);
    return found;
  }

  private async assertChatIdFree(tx: Tx, telegramChatId: string, exceptId: string | null): Promise<void> {
    const other = await tx.em.findOne(Channel, { telegramChatId });
    if (other && other.id !== exceptId) throw AppError.conflict(`Channel ${telegramChatId} already exists`, { channelId: other.id });
  }

  private applyAndAudit<T extends { id: string }>(tx: Tx, actor: Actor, subjectType: string, entity: T, fields: object, created: boolean, virtual: string[] = []): T {
    const before: Record<string, unknown> = {};
    const after: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      if (!virtual.includes(key)) {
        before[key] = created ? null : (entity as Record<string, unknown>)[key];
        (entity as Record<string, unknown>)[key] = value;
      }
      after[key] = value;
    }
    tx.em.persist(entity);
    recordAudit(tx, actor, { action: `${subjectType}.${created ? 'create' : 'update'}`, subjectType, subjectId: entity.id, before: created ? null : before, after });
    return entity;
  }
}
