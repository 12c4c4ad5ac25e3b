import type { RaiseAlert } from '../../alerts/alert.service';
import type { AlertType } from '../../alerts/alert.types';
import type { Database } from '../../platform/database/transaction';
import type { PaymentGateway } from '../../integrations/stripe/payment-gateway';
import type { FindingType } from '../reconciliation-finding.entity';
import type { GatewayLister, TimeRange } from '../gateway-lister';

export interface Finding {
  type: FindingType;
  subjectType: string;
  subjectId: string;
  detail: string;
  /** What was done: alerted, released, replayed, … */
  action: string;
  data?: Record<string, unknown>;
  /** The alert to raise (deduplicated by its fingerprint). */
  raise?: RaiseAlert;
  /** An alert already raised in the transaction that made the change (payouts). */
  raised?: { id: string; created: boolean; fingerprint: string };
}

/** Stores findings as they are made (page by page), with their alerts. */
export interface FindingSink {
  record(findings: Finding[]): Promise<void>;
}

/**
 * The subjects a check looked at, for one alert type: an open alert of that type about an
 * examined subject that this run did not find again has gone, and is resolved.
 */
export interface ResolveScope {
  alertType: AlertType;
  /** Only alerts about this kind of subject (two checks raise MISSING_PAYMENT: about subscriptions, about Cashfree payments). */
  subjectType?: string;
  examined: (subjectId: string) => boolean;
  note: string;
}

export interface CheckContext {
  runId: string;
  window: TimeRange;
  now: Date;
  /** Objects that changed after this may have a webhook on the way: not judged this run. */
  settledBefore: Date;
  db: Database;
  lister: GatewayLister;
  /** For list calls, which go through `lister.each` (that is where they are counted). */
  gateway: PaymentGateway;
  /** The gateway through the lister, for single calls: counted, spaced and retried. */
  metered: PaymentGateway;
  sink: FindingSink;
}

export interface CheckOutcome {
  counts?: Partial<Record<'paymentsChecked' | 'payoutStatusChanges', number>>;
  scopes?: ResolveScope[];
}

export interface ReconciliationCheck {
  readonly name: string;
  run(ctx: CheckContext): Promise<CheckOutcome>;
}
