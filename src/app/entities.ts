import { openOrm, type Orm } from '../platform/database/orm';
import { BindingToken } from '../access/binding-token.entity';
import { InviteLink } from '../access/invite-link.entity';
import { Subscription } from '../access/subscription.entity';
import { TelegramOutboxItem } from '../access/telegram-outbox.entity';
import { Alert } from '../alerts/alert.entity';
import { AnalyticsDaily, DeliveryDaily, SubscriptionDaily } from '../analytics/analytics-rollup.entity';
import { AuditEntry } from '../audit/audit-entry.entity';
import { Bundle } from '../catalog/bundle.entity';
import { Channel } from '../catalog/channel.entity';
import { Plan } from '../catalog/plan.entity';
import { Customer } from '../customers/customer.entity';
import { Delivery } from '../delivery/delivery.entity';
import { DeliveryCounter } from '../delivery/delivery-counter.entity';
import { GatewayEvent } from '../inbox/gateway-event.entity';
import { CleanupRun } from '../payments/cleanup-run.entity';
import { Payment } from '../payments/payment.entity';
import { PaymentCounter } from '../payments/payment-counter.entity';
import { RetryAttempt } from '../retries/retry-attempt.entity';
import { RetryJob } from '../retries/retry-job.entity';
import { Refund } from '../payments/refund.entity';
import { Payout } from '../reconciliation/payout.entity';
import { ReconciliationFinding } from '../reconciliation/reconciliation-finding.entity';
import { ReconciliationRun } from '../reconciliation/reconciliation-run.entity';
import { Verification } from '../verification/verification.entity';

/** Listed, not discovered by glob: the same list works under tsc output, swc and jest. */
export const ENTITIES = [Customer, Channel, Bundle, Plan, Payment, PaymentCounter, Delivery, DeliveryCounter, GatewayEvent, Alert, AuditEntry, InviteLink, CleanupRun, Subscription, BindingToken, TelegramOutboxItem, Refund, Payout, ReconciliationRun, ReconciliationFinding, RetryJob, RetryAttempt, AnalyticsDaily, SubscriptionDaily, DeliveryDaily, Verification];

/** The app's ORM: the platform's settings over every entity above. */
export function openAppOrm(databaseUrl: string, poolMax?: number): Promise<Orm> {
  return openOrm(databaseUrl, ENTITIES, poolMax);
}
