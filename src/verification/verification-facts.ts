import { createHash } from 'node:crypto';
import { VerificationFactError, type EsignFact, type KycFact, type VerificationFact, type VerificationStepName } from './verification-provider';

/**
 * The built-in (sandbox) provider's webhook body, as a typed fact. Pure, no I/O: unit-tested in
 * test/unit/verification-facts.test.ts. The body:
 *
 *   { "id": "vevt_…", "type": "verification.pending" | "verification.verified" | "verification.rejected",
 *     "created": "<ISO time>" | <unix seconds>,
 *     "data": { "verification_id": "vrf_…", "reference": "<our verification id>", "reason": "…",
 *               "steps_completed": ["kyc", "esign"],
 *               "kyc": { "pan_last4": "1234", "name": "…", "name_matched": true },
 *               "esign": { "terms_version": "v1", "signed_at": "<ISO>", "document_sha256": "<hex>", "document": "<base64>" } } }
 */
export const VERIFICATION_EVENT_TYPES = ['verification.pending', 'verification.verified', 'verification.rejected'] as const;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const HEX64 = /^[0-9a-f]{64}$/;

function text(source: Json, key: string, where: string, options: { required?: boolean; max?: number } = {}): string | null {
  const value = source[key];
  if (value === undefined || value === null || value === '') {
    if (options.required) throw new VerificationFactError(`${where}.${key} is missing`);
    return null;
  }
  if (typeof value !== 'string') throw new VerificationFactError(`${where}.${key} must be a string`);
  if (value.length > (options.max ?? 500)) throw new VerificationFactError(`${where}.${key} is too long`);
  return value;
}

function time(value: unknown, where: string): Date {
  const date = typeof value === 'number' ? new Date(value * 1000) : typeof value === 'string' ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) throw new VerificationFactError(`${where} must be an ISO time or unix seconds`);
  return date;
}

function kycOf(data: Json): KycFact | null {
  if (data.kyc === undefined || data.kyc === null) return null;
  if (!isObject(data.kyc)) throw new VerificationFactError('data.kyc must be an object');
  const panLast4 = text(data.kyc, 'pan_last4', 'data.kyc', { max: 4 });
  if (panLast4 !== null && !/^[A-Za-z0-9]{4}$/.test(panLast4)) throw new VerificationFactError('data.kyc.pan_last4 must be 4 letters or digits');
  const nameMatched = data.kyc.name_matched ?? false;
  if (typeof nameMatched !== 'boolean') throw new VerificationFactError('data.kyc.name_matched must be a boolean');
  return { panLast4, name: text(data.kyc, 'name', 'data.kyc'), nameMatched };
}

/** The document's hash is computed from the document when it came along, and must then match the stated one. */
function esignOf(data: Json): EsignFact | null {
  if (data.esign === undefined || data.esign === null) return null;
  if (!isObject(data.esign)) throw new VerificationFactError('data.esign must be an object');
  const termsVersion = text(data.esign, 'terms_version', 'data.esign', { required: true, max: 100 })!;
  const signedAt = time(data.esign.signed_at, 'data.esign.signed_at');
  const stated = text(data.esign, 'document_sha256', 'data.esign', { max: 64 })?.toLowerCase() ?? null;
  if (stated !== null && !HEX64.test(stated)) throw new VerificationFactError('data.esign.document_sha256 must be 64 hex digits');
  const encoded = text(data.esign, 'document', 'data.esign', { max: 700_000 });
  const document = encoded === null ? null : Buffer.from(encoded, 'base64');
  const computed = document ? createHash('sha256').update(document).digest('hex') : null;
  if (computed && stated && computed !== stated) throw new VerificationFactError('data.esign.document_sha256 does not match the document');
  const documentSha256 = computed ?? stated;
  if (!documentSha256) throw new VerificationFactError('data.esign needs the document or its document_sha256');
  return { termsVersion, signedAt, documentSha256, document };
}

function stepsOf(data: Json): VerificationStepName[] {
  const steps = data.steps_completed ?? [];
  if (!Array.isArray(steps)) throw new VerificationFactError('data.steps_completed must be a list');
  const known: VerificationStepName[] = [];
  for (const step of steps) {
    if (step === 'kyc' && !known.includes('KYC')) known.push('KYC');
    else if (step === 'esign' && !known.includes('ESIGN')) known.push('ESIGN');
  }
  return known;
}

export function verificationFact(payload: Record<string, unknown>): VerificationFact {
  const type = typeof payload.type === 'string' ? payload.type : '';
  if (!(VERIFICATION_EVENT_TYPES as readonly string[]).includes(type)) return { kind: 'Ignored', type: type || '(none)' };
  if (!isObject(payload.data)) throw new VerificationFactError('data must be an object');
  const data = payload.data;
  const providerRef = text(data, 'verification_id', 'data', { required: true, max: 200 })!;
  const reference = text(data, 'reference', 'data', { max: 200 });
  const occurredAt = time(payload.created, 'created');
  if (type === 'verification.pending') return { kind: 'Progress', providerRef, reference, stepsCompleted: stepsOf(data), occurredAt };
  if (type === 'verification.rejected') {
    return { kind: 'Verdict', providerRef, reference, outcome: 'REJECTED', reason: text(data, 'reason', 'data', { max: 1000 }) ?? 'rejected by the provider', kyc: kycOf(data), esign: esignOf(data), occurredAt };
  }
  return { kind: 'Verdict', providerRef, reference, outcome: 'VERIFIED', reason: null, kyc: kycOf(data), esign: esignOf(data), occurredAt };
}
