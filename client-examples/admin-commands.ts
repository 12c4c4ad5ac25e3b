/**
 * The admin CLI's commands (admin-cli.ts parses the command line and maps errors to exit codes).
 * Each prints human lines, or one JSON document with --json, and answers its exit code; what the
 * server refuses outright arrives as a GraphqlRequestError from request().
 */
import { request, type RecoupEndpoint } from './client';
import { money } from './money';
import {
  AdminAlertsDocument,
  AdminCapturePaymentDocument,
  AdminFailedDeliveriesDocument,
  AdminForceCleanupDocument,
  AdminOutOfSyncPaymentsDocument,
  AdminPaymentsDocument,
  AdminPendingPaymentsDocument,
  AdminRecoverPaymentDocument,
  AdminRecoverPaymentsDocument,
  AdminRunReconciliationDocument,
  AdminSyncPaymentDocument,
  ResolveAlertDocument,
  type AdminPageInfoFragment,
  type AdminPaymentStateFragment,
  type AlertFieldsFragment,
  type DeliveryStatus,
  type PaymentStatus,
  type UndeliveredStatus,
} from './gql/graphql';

export type Line = (line: string) => void;
export const EXIT = { ok: 0, refused: 1, network: 2, usage: 64 } as const;
export class UsageError extends Error {}

export interface Flags {
  status?: string;
  search?: string;
  first?: string;
  after?: string;
  open?: boolean;
  stale?: boolean;
  note?: string;
  'window-days'?: string;
  wait?: boolean;
  json?: boolean;
  help?: boolean;
}

export interface Invocation {
  endpoint: RecoupEndpoint;
  args: string[];
  flags: Flags;
  out: Line;
  err: Line;
}

export interface Command {
  synopsis: string;
  /** Flags it takes besides --json and --help. */
  flags: ReadonlyArray<keyof Flags>;
  /** Positional arguments: what they are and how many (default none). */
  operands?: { name: string; min: number; max: number };
  run(io: Invocation): Promise<number>;
}

/** Mutations that call Stripe or Telegram for each payment; reconcile --wait runs a whole reconciliation. */
const WORK_TIMEOUT_MS = 120_000;
const RECONCILE_WAIT_TIMEOUT_MS = 30 * 60_000;
const MAX_RECOVER = 100;

/** Every value of a generated enum type: the Record makes tsc flag a value the schema adds. */
const values = <T extends string>(all: Record<T, true>): T[] => Object.keys(all) as T[];
const PAYMENT_STATUSES = values<PaymentStatus>({ AUTHORIZED: true, CANCELLED: true, DISPUTED: true, EXPIRED: true, FAILED: true, PENDING: true, REFUNDED: true, SUCCEEDED: true });
const UNDELIVERED_STATUSES = values<UndeliveredStatus>({ FAILED: true, AWAITING_CUSTOMER: true, PENDING: true, IN_PROGRESS: true });

function choice<T extends string>(flag: string, raw: string | undefined, allowed: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  const value = raw.toUpperCase().replace(/-/g, '_') as T;
  if (!allowed.includes(value)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')} (got "${raw}")`);
  return value;
}

function integer(flag: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`--${flag} must be an integer from ${min} to ${max} (got "${raw}")`);
  return value;
}

const page = (flags: Flags) => ({ first: flags.first === undefined ? 20 : integer('first', flags.first, 1, 100), after: flags.after ?? null });

function json(out: Line, value: unknown): number {
  out(JSON.stringify(value));
  return EXIT.ok;
}

/** The count line of a listing, then the flag that fetches the next page when there is one. */
function footer(out: Line, shown: number, total: number, what: string, pageInfo: AdminPageInfoFragment): number {
  out(`${shown} of ${total} ${what}`);
  if (pageInfo.hasNextPage && pageInfo.endCursor) out(`next page: --after ${pageInfo.endCursor}`);
  return EXIT.ok;
}

const nextCursor = (pageInfo: AdminPageInfoFragment): string | null => (pageInfo.hasNextPage ? pageInfo.endCursor : null);

function alertLine(a: AlertFieldsFragment): string {
  const state = a.resolvedAt ? `resolved by ${a.resolvedBy ?? '?'} at ${a.resolvedAt}` : 'open';
  const count = a.occurrences > 1 ? ` x${a.occurrences}` : '';
  return `${a.id}  ${a.severity.padEnd(8)}  ${a.type.padEnd(23)}  ${a.title}${count}  [${state}]`;
}

function paymentStateLine(p: AdminPaymentStateFragment): string {
  const refunded = p.refundedMinor > 0 ? `  refunded ${money(p.refundedMinor, p.currency)}` : '';
  return `${p.id}  ${p.status}  ${money(p.amountMinor, p.currency)}${refunded}  since ${p.statusChangedAt}`;
}

const payments: Command = {
  synopsis: 'payments [--status S] [--first N] [--after cursor]',
  flags: ['status', 'first', 'after'],
  async run({ endpoint, flags, out }) {
    const status = choice('status', flags.status, PAYMENT_STATUSES);
    const { payments: conn } = await request(endpoint, AdminPaymentsDocument, { ...page(flags), filter: status ? { statuses: [status] } : null });
    const nodes = conn.edges.map((edge) => edge.node);
    if (flags.json) return json(out, { totalCount: conn.totalCount, payments: nodes, nextCursor: nextCursor(conn.pageInfo) });
    for (const p of nodes) out(`${p.id}  ${p.status.padEnd(10)}  ${money(p.amountMinor, p.currency).padStart(12)}  ${p.createdAt}`);
    return footer(out, nodes.length, conn.totalCount, 'payment(s)', conn.pageInfo);
  },
};

const alerts: Command = {
  synopsis: 'alerts [--open] [--first N] [--after cursor]',
  flags: ['open', 'first', 'after'],
  async run({ endpoint, flags, out }) {
    const { alerts: conn } = await request(endpoint, AdminAlertsDocument, { ...page(flags), filter: flags.open ? { open: true } : null });
    const nodes = conn.edges.map((edge) => edge.node);
    if (flags.json) return json(out, { totalCount: conn.totalCount, alerts: nodes, nextCursor: nextCursor(conn.pageInfo) });
    for (const a of nodes) out(alertLine(a));
    return footer(out, nodes.length, conn.totalCount, `${flags.open ? 'open ' : ''}alert(s)`, conn.pageInfo);
  },
};

const resolveAlert: Command = {
  synopsis: 'resolve-alert <alertId> [--note text]',
  flags: ['note'],
  operands: { name: 'alert id', min: 1, max: 1 },
  async run({ endpoint, args, flags, out }) {
    const { resolveAlert: alert } = await request(endpoint, ResolveAlertDocument, { id: args[0], note: flags.note ?? null });
    if (flags.json) return json(out, alert);
    out(`resolved ${alert.id} (${alert.title}) by ${alert.resolvedBy ?? '?'} at ${alert.resolvedAt ?? '?'}`);
    return EXIT.ok;
  },
};

const failedDeliveries: Command = {
  synopsis: `failed-deliveries [--status ${UNDELIVERED_STATUSES.join('|')}] [--search text] [--first N] [--after cursor]`,
  flags: ['status', 'search', 'first', 'after'],
  async run({ endpoint, flags, out }) {
    const status = choice('status', flags.status, UNDELIVERED_STATUSES) ?? 'FAILED';
    const filter = { status, search: flags.search?.trim() || null };
    const { failedDeliveries: conn } = await request(endpoint, AdminFailedDeliveriesDocument, { ...page(flags), filter });
    const nodes = conn.edges.map((edge) => edge.node);
    if (flags.json) return json(out, { totalCount: conn.totalCount, payments: nodes, nextCursor: nextCursor(conn.pageInfo) });
    for (const p of nodes) {
      const reason = p.deliveryFailureReason ? `  ${p.deliveryFailureReason}` : '';
      out(`${p.id}  ${(p.deliveryStatus ?? '-').padEnd(17)}  attempts ${p.deliveryAttempts}  customer ${p.customerId}  paid ${p.paidAt ?? '-'}${reason}`);
    }
    return footer(out, nodes.length, conn.totalCount, `payment(s) with delivery ${status}`, conn.pageInfo);
  },
};

const pending: Command = {
  synopsis: 'pending [--stale] [--first N] [--after cursor]',
  flags: ['stale', 'first', 'after'],
  async run({ endpoint, flags, out }) {
    const { pendingPayments: conn } = await request(endpoint, AdminPendingPaymentsDocument, { ...page(flags), filter: flags.stale ? { staleOnly: true } : null });
    const nodes = conn.edges.map((edge) => edge.node);
    if (flags.json) return json(out, { totalCount: conn.totalCount, summary: conn.summary, pendingPayments: nodes, nextCursor: nextCursor(conn.pageInfo) });
    for (const { payment: p, ageMinutes, minutesRemaining, stale } of nodes) {
      const expiry = stale ? 'stale' : `expires in ${minutesRemaining} min`;
      out(`${p.id}  ${p.status.padEnd(10)}  ${money(p.amountMinor, p.currency).padStart(12)}  age ${ageMinutes} min  ${expiry}  customer ${p.customerId}`);
    }
    const { stale, active } = conn.summary;
    return footer(out, nodes.length, conn.totalCount, `${flags.stale ? 'stale' : 'open'} payment(s) (${stale} stale, ${active} active in all)`, conn.pageInfo);
  },
};

const outOfSync: Command = {
  synopsis: 'out-of-sync [--first N] [--after cursor]',
  flags: ['first', 'after'],
  async run({ endpoint, flags, out }) {
    const { outOfSyncPayments: conn } = await request(endpoint, AdminOutOfSyncPaymentsDocument, page(flags));
    const nodes = conn.edges.map((edge) => edge.node);
    if (flags.json) return json(out, { totalCount: conn.totalCount, issues: nodes, nextCursor: nextCursor(conn.pageInfo) });
    for (const { payment: p, gatewayStatus, alert, finding } of nodes) {
      const amount = p ? `  ${money(p.amountMinor, p.currency)}` : '';
      out(`${p?.id ?? alert.subjectId ?? '?'}  ours ${p?.status ?? '?'}  Stripe ${gatewayStatus ?? '?'}${amount}  ${finding?.detail ?? alert.title}`);
    }
    return footer(out, nodes.length, conn.totalCount, 'out-of-sync payment(s)', conn.pageInfo);
  },
};

interface Recovery {
  paymentId: string;
  ok: boolean;
  status: DeliveryStatus | null;
  attempts: number | null;
  /** ok: why the attempt did not deliver; otherwise the server's code and message. */
  detail: string | null;
}

const recover: Command = {
  synopsis: `recover <paymentId> [<paymentId> ...]  (up to ${MAX_RECOVER})`,
  flags: [],
  operands: { name: 'payment id', min: 1, max: MAX_RECOVER },
  async run({ endpoint, args, flags, out, err }) {
    let results: Recovery[];
    if (args.length === 1) {
      const { recoverPayment: outcome } = await request(endpoint, AdminRecoverPaymentDocument, { paymentId: args[0] }, WORK_TIMEOUT_MS);
      if (flags.json) out(JSON.stringify(outcome));
      results = [{ ...outcome, ok: true, detail: outcome.reason }];
    } else {
      const { recoverPayments } = await request(endpoint, AdminRecoverPaymentsDocument, { paymentIds: args }, WORK_TIMEOUT_MS);
      if (flags.json) out(JSON.stringify(recoverPayments));
      results = recoverPayments.map((r) => ({ ...r, detail: r.ok ? null : `${r.errorCode ?? 'ERROR'}: ${r.message ?? ''}` }));
    }
    const failed = results.filter((r) => !r.ok || r.status === 'FAILED');
    if (!flags.json) {
      for (const r of results) {
        const head = r.ok ? `${r.status}  attempts ${r.attempts}` : 'refused';
        out(`${r.paymentId}  ${head}${r.detail ? `  ${r.detail}` : ''}`);
      }
      if (results.length > 1) out(`${results.filter((r) => r.status === 'DELIVERED').length} of ${results.length} payment(s) delivered`);
    }
    if (failed.length === 0) return EXIT.ok;
    err(`error: ${failed.length} of ${results.length} payment(s) not recovered`);
    return EXIT.refused;
  },
};

const capture: Command = {
  synopsis: 'capture <paymentId>',
  flags: [],
  operands: { name: 'payment id', min: 1, max: 1 },
  async run({ endpoint, args, flags, out, err }) {
    const { capturePayment: p } = await request(endpoint, AdminCapturePaymentDocument, { paymentId: args[0] }, WORK_TIMEOUT_MS);
    if (flags.json) json(out, p);
    else out(`captured: ${paymentStateLine(p)}`);
    if (p.status === 'SUCCEEDED') return EXIT.ok;
    err(`error: payment ${p.id} is ${p.status} after the capture${p.captureLastError ? `: ${p.captureLastError}` : ''}`);
    return EXIT.refused;
  },
};

const sync: Command = {
  synopsis: 'sync <paymentId>',
  flags: [],
  operands: { name: 'payment id', min: 1, max: 1 },
  async run({ endpoint, args, flags, out }) {
    const { syncPaymentWithGateway: p } = await request(endpoint, AdminSyncPaymentDocument, { paymentId: args[0] }, WORK_TIMEOUT_MS);
    if (flags.json) return json(out, p);
    out(`synced: ${paymentStateLine(p)}`);
    return EXIT.ok;
  },
};

const cleanup: Command = {
  synopsis: 'cleanup',
  flags: [],
  async run({ endpoint, flags, out, err }) {
    const { forceCleanup: r } = await request(endpoint, AdminForceCleanupDocument, {}, WORK_TIMEOUT_MS);
    if (flags.json) json(out, r);
    else out(`cleanup run ${r.runId}: expired ${r.expired}, found paid ${r.foundPaid}, refunds retried ${r.refundsRetried}, errors ${r.errors}`);
    if (r.errors === 0) return EXIT.ok;
    err(`error: ${r.errors} stale payment(s) could not be expired (cleanupStats.lastError says why; the next run retries them)`);
    return EXIT.refused;
  },
};

const reconcile: Command = {
  synopsis: 'reconcile [--window-days N] [--wait]',
  flags: ['window-days', 'wait'],
  async run({ endpoint, flags, out, err }) {
    const raw = flags['window-days'];
    const variables = { wait: flags.wait ?? false, windowDays: raw === undefined ? null : integer('window-days', raw, 1, 90) };
    const { runReconciliation: run } = await request(endpoint, AdminRunReconciliationDocument, variables, flags.wait ? RECONCILE_WAIT_TIMEOUT_MS : undefined);
    if (flags.json) json(out, run);
    else {
      out(`run ${run.id}  ${run.status}  window ${run.windowStart} to ${run.windowEnd}`);
      if (run.status === 'RUNNING') out('running in the background; --wait waits for it and prints its counts');
      else {
        out(`checked ${run.paymentsChecked} payment(s) in ${run.durationMs ?? '?'} ms: out of sync ${run.outOfSync}, stuck authorizations ${run.stuckAuthorizations}, ` +
          `failed payouts ${run.failedPayouts}, missing payments ${run.missingPayments}, unknown Stripe payments ${run.unknownGatewayPayments}, ` +
          `no-shows released ${run.noShowsReleased}, missed webhooks ${run.missedWebhooks}; alerts raised ${run.alertsRaised}, resolved ${run.alertsResolved}`);
      }
    }
    const errors = Array.isArray(run.errors) ? (run.errors as Array<{ check?: string; message?: string }>) : [];
    for (const e of errors) err(`error: check ${e.check ?? '?'} failed: ${e.message ?? '?'}`);
    return run.status === 'FAILED' || run.status === 'PARTIAL' ? EXIT.refused : EXIT.ok;
  },
};

export const COMMANDS: Record<string, Command> = {
  payments,
  alerts,
  'resolve-alert': resolveAlert,
  'failed-deliveries': failedDeliveries,
  pending,
  'out-of-sync': outOfSync,
  recover,
  capture,
  sync,
  cleanup,
  reconcile,
};
