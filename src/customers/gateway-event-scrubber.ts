import { personalValuePattern, type ErasureSubject } from './personal-data-copies';
import type { Tx } from '../platform/database/transaction';

/**
 * Top-level scalar fields of a Stripe object that accounting and support still need after erasure:
 * ids, links between objects, amounts, currency, statuses, reasons (Stripe's enums) and times.
 * Everything else goes: customer_details, billing_details, receipt_email, shipping, evidence,
 * payment_method_details, descriptions, previous_attributes, nested objects and lists.
 */
const STRIPE_KEPT = [
  'id', 'object', 'created', 'livemode', 'status', 'payment_status', 'mode', 'currency',
  'amount', 'amount_total', 'amount_subtotal', 'amount_received', 'amount_capturable', 'amount_captured', 'amount_refunded',
  'captured', 'paid', 'refunded', 'disputed', 'capture_method', 'reason', 'failure_code', 'cancellation_reason',
  'canceled_at', 'expires_at', 'arrival_date', 'payment_intent', 'charge', 'latest_charge', 'customer', 'payment_method',
  'balance_transaction', 'is_charge_refundable', 'client_reference_id',
];
/** Our own metadata keys (ids); a refund's `reason`, typed by an operator, is not kept. */
const METADATA_KEPT = ['paymentId', 'retryJobId'];
const REASON = 'customer personal data deleted';

const list = (values: readonly string[]): string => `array[${values.map((v) => `'${v}'`).join(', ')}]::text[]`;
const kept = (source: string, keys: readonly string[]): string =>
  `coalesce((select jsonb_object_agg(k, v) from jsonb_each(case when jsonb_typeof(${source}) = 'object' then ${source} else '{}'::jsonb end) as o(k, v)
             where k = any(${list(keys)}) and jsonb_typeof(v) not in ('object', 'array')), '{}'::jsonb)`;

const STRIPE_SKELETON = `jsonb_build_object(
    'id', e.payload -> 'id', 'object', e.payload -> 'object', 'type', e.payload -> 'type', 'created', e.payload -> 'created',
    'livemode', e.payload -> 'livemode', 'api_version', e.payload -> 'api_version', 'redacted', true, 'reason', '${REASON}',
    'data', jsonb_build_object('object', ${kept(`e.payload #> '{data,object}'`, STRIPE_KEPT)}
                                         || jsonb_build_object('metadata', ${kept(`e.payload #> '{data,object,metadata}'`, METADATA_KEPT)})))`;
const TELEGRAM_SKELETON = `jsonb_build_object('update_id', e.payload -> 'update_id', 'redacted', true, 'reason', '${REASON}')`;
/**
 * A KYC / e-sign provider's event keeps its ids, type, time, verdict and the compliance record of
 * the signature (terms version, signing time, the document's SHA-256); the PAN fragment, the name
 * read from the document, the document itself and the provider's free-text reason go.
 */
const VERIFICATION_SKELETON = `jsonb_build_object(
    'id', e.payload -> 'id', 'type', e.payload -> 'type', 'created', e.payload -> 'created', 'redacted', true, 'reason', '${REASON}',
    'data', jsonb_strip_nulls(jsonb_build_object(
      'verification_id', e.payload #> '{data,verification_id}', 'reference', e.payload #> '{data,reference}',
      'steps_completed', e.payload #> '{data,steps_completed}',
      'esign', case when jsonb_typeof(e.payload #> '{data,esign}') = 'object' then jsonb_strip_nulls(jsonb_build_object(
        'terms_version', e.payload #> '{data,esign,terms_version}', 'signed_at', e.payload #> '{data,esign,signed_at}',
        'document_sha256', e.payload #> '{data,esign,document_sha256}')) end)))`;
const SKELETON = `case e.gateway when 'stripe' then ${STRIPE_SKELETON} when 'verification' then ${VERIFICATION_SKELETON} else ${TELEGRAM_SKELETON} end`;

/**
 * One verification event's payload reduced to its skeleton: for an event applied after its customer
 * was erased (the erasure scrubbed what was stored then; this one came later).
 */
export async function redactVerificationEvent(tx: Tx, gatewayEventId: string): Promise<void> {
  await tx.em.execute(`update gateway_events e set payload = ${VERIFICATION_SKELETON} where e.id = ? and e.gateway = 'verification' and e.payload -> 'redacted' is null`, [gatewayEventId]);
}

/** The ids a Stripe object names (itself, its intent, charge, customer), for the CTEs below. */
const REFERENCES = (alias: string) =>
  ['id', 'payment_intent', 'charge', 'latest_charge', 'customer'].map((k) => `(${alias}.payload #>> '{data,object,${k}}')`).join(', ');

/**
 * Gateway payloads hold personal data: checkout customer_details, charge billing_details and
 * receipt_email, dispute evidence, Telegram senders, chats (a private chat's id is the user's id),
 * join requests and member updates. When a customer is erased, every event that concerns them keeps
 * its row, type and accounting fields (see STRIPE_KEPT) and loses the rest of its payload.
 *
 * An event concerns them when it names one of their payments (our metadata), one of their Stripe
 * ids (intent, session, Stripe customer, refund), or an object linked to such an event (a dispute or
 * refund that names only the charge), or when any of their personal values appears anywhere in the
 * payload (the email in billing_details of a charge we never linked, the Telegram id in any field).
 * A verification provider's event concerns them when it names one of their verification sessions
 * (our id as its reference, or the provider's session id).
 * Not by name alone: a namesake's events are not theirs (redactPersonalValues still blanks the name
 * itself wherever it is left). One statement, whatever the number of events.
 */
export async function scrubGatewayEvents(tx: Tx, subject: ErasureSubject): Promise<void> {
  const pattern = personalValuePattern(subject, { name: false });
  await tx.em.execute(
    `with pay as (select id::text as id, stripe_payment_intent_id as pi, stripe_checkout_session_id as cs, stripe_customer_id as cus
                    from payments where customer_id = ?),
          known as (select id as v from pay union select pi from pay union select cs from pay union select cus from pay
                    union select stripe_customer_id from subscriptions where customer_id = ?
                    union select stripe_customer_id from retry_jobs where customer_id = ?
                    union select a.stripe_payment_intent_id from retry_attempts a join retry_jobs j on j.id = a.job_id where j.customer_id = ?
                    union select r.stripe_refund_id from refunds r join pay on pay.id = r.payment_id::text
                    union select id::text from verifications where customer_id = ?
                    union select provider_ref from verifications where customer_id = ?),
          matched as (select e.id, e.payload from gateway_events e
                       where (?::text is not null and e.payload::text ~* ?)
                          or (e.gateway = 'stripe'
                              and (e.payload #>> '{data,object,metadata,paymentId}' in (select v from known)
                                   or e.payload #>> '{data,object,id}' in (select v from known)
                                   or e.payload #>> '{data,object,payment_intent}' in (select v from known)
                                   or e.payload #>> '{data,object,charge}' in (select v from known)
                                   or e.payload #>> '{data,object,customer}' in (select v from known)))
                          or (e.gateway = 'verification'
                              and (e.payload #>> '{data,reference}' in (select v from known)
                                   or e.payload #>> '{data,verification_id}' in (select v from known)))),
          linked as (select x.v from matched m cross join lateral (values ${REFERENCES('m')}) as x(v)
                      where m.payload #>> '{data,object,object}' is not null and x.v is not null
                     union select v from known where v is not null)
     update gateway_events e
        set payload = ${SKELETON}
      where e.payload -> 'redacted' is null
        and (e.id in (select id from matched)
             or (e.gateway = 'stripe'
                 and (e.payload #>> '{data,object,id}' in (select v from linked)
                      or e.payload #>> '{data,object,payment_intent}' in (select v from linked)
                      or e.payload #>> '{data,object,charge}' in (select v from linked))))`,
    [subject.customerId, subject.customerId, subject.customerId, subject.customerId, subject.customerId, subject.customerId, pattern, pattern],
  );
}
