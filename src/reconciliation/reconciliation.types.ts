import { Field, ObjectType } from 'type-graphql';
import { Alert } from '../alerts/alert.entity';
import { ConnectionType } from '../platform/graphql/connection';
import { Payment } from '../payments/payment.entity';
import { Payout } from './payout.entity';
import { ReconciliationFinding } from './reconciliation-finding.entity';
import { ReconciliationRun } from './reconciliation-run.entity';

/** An open reconciliation alert about a payment, with the payment and what the last run saw. */
@ObjectType()
export class PaymentIssue {
  @Field(() => Alert) alert!: Alert;
  @Field(() => Payment, { nullable: true }) payment!: Payment | null;
  @Field(() => ReconciliationFinding, { nullable: true, description: 'The latest finding about this payment: both sides as seen.' }) finding!: ReconciliationFinding | null;
  @Field(() => String, { nullable: true, description: "The gateway's side when last seen: Stripe's PaymentIntent status; for Cashfree, PAID with the refunded total, or not paid." }) gatewayStatus!: string | null;
  @Field(() => Date, { nullable: true, description: 'STUCK_AUTHORIZATION: when Stripe drops the hold.' }) captureBefore!: Date | null;
}

export const PaymentIssueConnection = ConnectionType(PaymentIssue, 'PaymentIssue');
export const ReconciliationRunConnection = ConnectionType(ReconciliationRun, 'ReconciliationRun');
export const ReconciliationFindingConnection = ConnectionType(ReconciliationFinding, 'ReconciliationFinding');
export const PayoutConnection = ConnectionType(Payout, 'Payout');
