import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import type {
  CaptureMethod,
  FakeCharge,
  FakeCheckoutSession,
  FakeDispute,
  FakeEvent,
  FakePaymentIntent,
  FakePayout,
  FakeRefund,
  Metadata,
  StripeObject,
} from './fake-stripe.types';

/**
 * Factories for the objects the fake answers with. Every top-level field of Stripe's own example
 * objects (test/fixtures/stripe/fixtures3.json) is present, with the values a test-mode card
 * payment really has rather than the fixture's placeholder values (test/unit checks the key sets).
 */

/** Events say they were rendered for the API version the installed SDK speaks. */
export const API_VERSION: string = Stripe.API_VERSION;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function randomToken(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return out;
}

export const newId = (prefix: string, length = 24): string => `${prefix}${randomToken(length)}`;

const NULL_ADDRESS = { city: null, country: null, line1: null, line2: null, postal_code: null, state: null };

export interface SessionInit {
  created: number;
  expiresAt: number;
  amountTotal: number;
  currency: string;
  payUrl: (id: string) => string;
  metadata: Metadata;
  successUrl: string | null;
  cancelUrl: string | null;
  customerEmail: string | null;
  clientReferenceId: string | null;
}

export function newCheckoutSession(init: SessionInit): FakeCheckoutSession {
  const id = newId('cs_test_', 58);
  return {
    id, object: 'checkout.session', created: init.created, expires_at: init.expiresAt, livemode: false,
    mode: 'payment', status: 'open', payment_status: 'unpaid', url: init.payUrl(id),
    amount_subtotal: init.amountTotal, amount_total: init.amountTotal, currency: init.currency,
    payment_intent: null, metadata: init.metadata, success_url: init.successUrl, cancel_url: init.cancelUrl,
    customer_email: init.customerEmail, client_reference_id: init.clientReferenceId,
    after_expiration: null, allow_promotion_codes: null, billing_address_collection: null,
    automatic_tax: { enabled: false, liability: null, status: null, provider: null },
    client_secret: null, consent: null, consent_collection: null, custom_fields: [],
    custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
    customer: null, customer_creation: 'if_required', customer_details: null, invoice: null,
    invoice_creation: { enabled: false, invoice_data: null }, locale: null, payment_link: null,
    payment_method_collection: 'if_required', payment_method_configuration_details: null,
    payment_method_options: { card: { request_three_d_secure: 'automatic' } }, payment_method_types: ['card'],
    phone_number_collection: { enabled: false }, recovered_from: null, saved_payment_method_options: null,
    setup_intent: null, shipping_address_collection: null, shipping_cost: null, shipping_options: [],
    submit_type: null, subscription: null, total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: 'hosted', adaptive_pricing: { enabled: false }, discounts: [], collected_information: null,
    permissions: null, wallet_options: null, origin_context: null, currency_conversion: null,
    customer_account: null, integration_identifier: null, managed_payments: null,
  };
}

/** What the payer typed on the hosted page; Stripe copies it to the session and the charge. */
export interface PayerDetails {
  email?: string | null;
  name?: string | null;
  phone?: string | null;
}

export function customerDetails(email: string | null, payer: PayerDetails = {}): Record<string, unknown> {
  return {
    address: { ...NULL_ADDRESS, country: 'US' }, email, name: payer.name ?? 'Sandbox Customer', phone: payer.phone ?? null,
    tax_exempt: 'none', tax_ids: [], business_name: null, individual_name: null,
  };
}

export interface PaymentIntentInit {
  created: number;
  amount: number;
  currency: string;
  captureMethod: CaptureMethod;
  metadata: Metadata;
  customer: string | null;
  paymentMethod: string | null;
  description?: string | null;
}

export function newPaymentIntent(init: PaymentIntentInit): FakePaymentIntent {
  const id = newId('pi_');
  return {
    id, object: 'payment_intent', created: init.created, livemode: false,
    amount: init.amount, amount_capturable: 0, amount_received: 0, currency: init.currency,
    status: init.paymentMethod ? 'requires_confirmation' : 'requires_payment_method',
    capture_method: init.captureMethod, customer: init.customer, payment_method: init.paymentMethod,
    latest_charge: null, last_payment_error: null, canceled_at: null, cancellation_reason: null,
    metadata: init.metadata, description: init.description ?? null,
    amount_details: { tip: {} }, application: null, application_fee_amount: null,
    automatic_payment_methods: null, client_secret: `${id}_secret_${randomToken(25)}`,
    confirmation_method: 'automatic', next_action: null, on_behalf_of: null,
    payment_method_configuration_details: null,
    payment_method_options: { card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' } },
    payment_method_types: ['card'], processing: null, receipt_email: null, review: null,
    setup_future_usage: null, shipping: null, statement_descriptor: null, statement_descriptor_suffix: null,
    transfer_data: null, transfer_group: null, source: null, excluded_payment_method_types: null,
    customer_account: null, managed_payments: null,
  };
}

const CARD_DETAILS = {
  amount_authorized: null, brand: 'visa', checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
  country: 'US', exp_month: 12, exp_year: 2034, extended_authorization: { status: 'disabled' },
  fingerprint: 'FakeFp4242visa00', funding: 'credit', incremental_authorization: { status: 'unavailable' },
  installments: null, last4: '4242', mandate: null, multicapture: { status: 'unavailable' }, network: 'visa',
  network_token: { used: false }, overcapture: { maximum_amount_capturable: 0, status: 'unavailable' },
  three_d_secure: null, wallet: null, authorization_code: null, regulated_status: 'unregulated',
  network_transaction_id: null, transaction_link_id: null,
};

/** Card authorizations are held for 7 days; Stripe says until when on an uncaptured charge. */
export const AUTHORIZATION_VALIDITY_S = 7 * 86400;

function cardDetails(pi: FakePaymentIntent, created: number, failure?: { code: string }): Record<string, unknown> {
  const held = !failure && pi.capture_method === 'manual';
  return held ? { ...CARD_DETAILS, capture_before: created + AUTHORIZATION_VALIDITY_S } : CARD_DETAILS;
}

export function newCharge(pi: FakePaymentIntent, created: number, failure?: { code: string; message: string }, payer: PayerDetails = {}): FakeCharge {
  const id = newId('ch_');
  const captured = !failure && pi.capture_method !== 'manual';
  return {
    id, object: 'charge', created, livemode: false, amount: pi.amount,
    amount_captured: captured ? pi.amount : 0, amount_refunded: 0, captured, paid: !failure,
    refunded: false, disputed: false, status: failure ? 'failed' : 'succeeded', currency: pi.currency,
    payment_intent: pi.id, failure_code: failure?.code ?? null, failure_message: failure?.message ?? null,
    refunds: { object: 'list', data: [], has_more: false, url: `/v1/charges/${id}/refunds` },
    metadata: { ...pi.metadata },
    application: null, application_fee: null, application_fee_amount: null,
    balance_transaction: failure ? null : newId('txn_'),
    billing_details: { address: { ...NULL_ADDRESS, country: 'US' }, email: payer.email ?? null, name: payer.name ?? 'Sandbox Customer', phone: payer.phone ?? null, tax_id: null },
    calculated_statement_descriptor: 'RECOUP SANDBOX', customer: pi.customer, description: pi.description ?? null,
    failure_balance_transaction: null, fraud_details: {}, on_behalf_of: null,
    outcome: {
      advice_code: null, network_advice_code: null, network_decline_code: null,
      network_status: failure ? 'declined_by_network' : 'approved_by_network',
      reason: failure ? (failure.code === 'card_declined' ? 'generic_decline' : failure.code) : null,
      risk_level: 'normal', seller_message: failure ? 'The bank did not return any further details with this decline.' : 'Payment complete.',
      type: failure ? 'issuer_declined' : 'authorized',
    },
    payment_method: pi.payment_method, payment_method_details: { card: cardDetails(pi, created, failure), type: 'card' },
    receipt_email: payer.email ?? null, receipt_number: null, receipt_url: null, review: null, shipping: null,
    source_transfer: null, statement_descriptor: null, statement_descriptor_suffix: null,
    transfer_data: null, transfer_group: null, source: null,
  };
}

export function newRefund(charge: FakeCharge, amount: number, created: number, reason: string | null, metadata: Metadata): FakeRefund {
  return {
    id: newId('re_'), object: 'refund', created, amount, charge: charge.id, payment_intent: charge.payment_intent,
    currency: charge.currency, status: 'succeeded', reason, metadata,
    balance_transaction: newId('txn_'), destination_details: { card: { type: 'refund' }, type: 'card' },
    receipt_number: null, source_transfer_reversal: null, transfer_reversal: null,
    customer: null, customer_account: null, payment_method: charge.payment_method,
  };
}

export interface PayoutInit {
  created: number;
  amount: number;
  currency: string;
  status: FakePayout['status'];
  arrivalDate: number;
  failureCode: string | null;
  failureMessage: string | null;
}

export function newPayout(init: PayoutInit): FakePayout {
  return {
    id: newId('po_'), object: 'payout', created: init.created, livemode: false, amount: init.amount,
    currency: init.currency, status: init.status, arrival_date: init.arrivalDate,
    failure_code: init.failureCode, failure_message: init.failureMessage,
    application_fee: null, application_fee_amount: null, automatic: true, balance_transaction: newId('txn_'),
    description: 'STRIPE PAYOUT', destination: 'ba_FakeSandboxBank0000000000', failure_balance_transaction: null,
    metadata: {}, method: 'standard', original_payout: null,
    reconciliation_status: init.status === 'paid' ? 'completed' : 'not_applicable', reversed_by: null,
    source_type: 'card', statement_descriptor: null, type: 'bank_account',
    trace_id: { status: init.status === 'paid' ? 'supported' : 'pending', value: null }, payout_method: null,
  };
}

export function newDispute(charge: FakeCharge, amount: number, reason: string, created: number): FakeDispute {
  return {
    id: newId('dp_'), object: 'dispute', created, livemode: false, amount, charge: charge.id,
    payment_intent: charge.payment_intent, currency: charge.currency, reason, status: 'needs_response',
    balance_transactions: [], evidence: {}, metadata: {}, is_charge_refundable: false,
    evidence_details: { due_by: created + 7 * 86400, has_evidence: false, past_due: false, submission_count: 0, enhanced_eligibility: {} },
    payment_method_details: { card: { brand: 'visa', case_type: 'chargeback', network_reason_code: '10.4' }, type: 'card' },
    enhanced_eligibility_types: [],
  };
}

export interface EventInit {
  type: string;
  object: StripeObject;
  created: number;
  pendingWebhooks: number;
  request?: { id: string | null; idempotency_key: string | null };
  previousAttributes?: Record<string, unknown>;
}

export function newEvent(init: EventInit): FakeEvent {
  // The event holds a snapshot: later changes to the object must not rewrite history.
  const data: FakeEvent['data'] = { object: structuredClone(init.object) };
  if (init.previousAttributes) data.previous_attributes = init.previousAttributes;
  return {
    id: newId('evt_'), object: 'event', api_version: API_VERSION, created: init.created, type: init.type,
    data, livemode: false, pending_webhooks: init.pendingWebhooks,
    request: init.request ?? { id: null, idempotency_key: null },
  };
}
