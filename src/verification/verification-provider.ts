/**
 * What Recoup needs of a KYC + e-sign provider, whoever it is. The provider's wire format stays in
 * its adapter: the service sees sessions (start) and typed facts (fact), never a provider payload.
 */

/** What the provider is asked to verify: who, and which terms they must sign (null: KYC only). */
export interface VerificationRequest {
  /** Our verification id: the session's reference, echoed in its webhooks, and the idempotency key. */
  verificationId: string;
  customer: { id: string; name: string | null; email: string | null };
  terms: { version: string | null; kycRequired: boolean };
}

export interface VerificationSession {
  providerRef: string;
  /** Where the customer completes the verification. */
  url: string;
}

/** A webhook whose signature held over the raw body: the provider's event id and type, and the parsed body. */
export interface VerifiedVerificationEvent {
  eventId: string;
  type: string;
  payload: Record<string, unknown>;
}

export interface KycFact {
  /** Personal data. */
  panLast4: string | null;
  /** Personal data: the name on the document. */
  name: string | null;
  nameMatched: boolean;
}

export interface EsignFact {
  termsVersion: string;
  signedAt: Date;
  /** Hex SHA-256 of the signed document (computed from the document when it came along). */
  documentSha256: string;
  /** Personal data: the signed document, when the provider sent it. */
  document: Buffer | null;
}

export type VerificationOutcome = 'VERIFIED' | 'REJECTED';
export type VerificationStepName = 'KYC' | 'ESIGN';

/** One webhook, typed: a verdict, progress within a session still open, or something we do not act on. */
export type VerificationFact =
  | {
      kind: 'Verdict';
      providerRef: string;
      /** Our verification id, when the provider echoed it. */
      reference: string | null;
      outcome: VerificationOutcome;
      reason: string | null;
      kyc: KycFact | null;
      esign: EsignFact | null;
      occurredAt: Date;
    }
  | { kind: 'Progress'; providerRef: string; reference: string | null; stepsCompleted: VerificationStepName[]; occurredAt: Date }
  | { kind: 'Ignored'; type: string };

export interface VerificationProvider {
  /** Stored with each session; 'sandbox' for the built-in fake. */
  readonly name: string;
  /** The request header that carries the webhook's signature. */
  readonly signatureHeader: string;
  /** Opens (or, for the same verificationId, finds again) a session. Throws VerificationProviderError. */
  start(request: VerificationRequest): Promise<VerificationSession>;
  /** Checks the signature over the exact bytes received; throws WebhookSignatureError when it does not hold. */
  verifyWebhook(rawBody: Buffer, signature: string | undefined): VerifiedVerificationEvent;
  /** Pure: the stored payload as a typed fact. Throws VerificationFactError for a payload it cannot read. */
  fact(payload: Record<string, unknown>): VerificationFact;
}

/** The provider did not answer, or refused the request. */
export class VerificationProviderError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
    this.name = 'VerificationProviderError';
  }
}

/** Not from the provider (or not as sent): answered 400, nothing stored. */
export class WebhookSignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookSignatureError';
  }
}

/** A signed payload whose content we cannot read as a fact: the event fails (and is retried, then alerted on). */
export class VerificationFactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerificationFactError';
  }
}
