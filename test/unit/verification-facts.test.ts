import { createHash } from 'node:crypto';
import { verificationFact } from '../../src/verification/verification-facts';
import { SandboxVerificationProvider, signVerificationBody } from '../../src/verification/sandbox-verification.provider';
import { VerificationFactError, WebhookSignatureError } from '../../src/verification/verification-provider';

const DOCUMENT = Buffer.from('Terms v1\nAccepted and e-signed by Dana Buyer\n');
const SHA = createHash('sha256').update(DOCUMENT).digest('hex');
const REFERENCE = '0b6f3a52-8f0e-4f5e-9d8e-1c2b3a4d5e6f';

const event = (type: string, data: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  id: 'vevt_1',
  type,
  created: '2026-12-03T07:00:00.000Z',
  data: { verification_id: 'vrf_1', reference: REFERENCE, ...data },
  ...extra,
});

describe('verificationFact', () => {
  it('reads a verified event: KYC details and the e-signature, with the hash computed from the document', () => {
    const fact = verificationFact(event('verification.verified', {
      kyc: { pan_last4: '234F', name: 'Dana Buyer', name_matched: true },
      esign: { terms_version: 'v1', signed_at: '2026-12-03T06:59:00.000Z', document_sha256: SHA, document: DOCUMENT.toString('base64') },
    }));
    expect(fact).toEqual({
      kind: 'Verdict',
      providerRef: 'vrf_1',
      reference: REFERENCE,
      outcome: 'VERIFIED',
      reason: null,
      kyc: { panLast4: '234F', name: 'Dana Buyer', nameMatched: true },
      esign: { termsVersion: 'v1', signedAt: new Date('2026-12-03T06:59:00.000Z'), documentSha256: SHA, document: DOCUMENT },
      occurredAt: new Date('2026-12-03T07:00:00.000Z'),
    });
  });

  it('takes the stated hash when the document did not come along, lower-cased', () => {
    const fact = verificationFact(event('verification.verified', { esign: { terms_version: 'v2', signed_at: 1796281200, document_sha256: SHA.toUpperCase() } }));
    expect(fact).toMatchObject({ kind: 'Verdict', kyc: null, esign: { termsVersion: 'v2', documentSha256: SHA, document: null, signedAt: new Date(1796281200 * 1000) } });
  });

  it('refuses a document whose hash is not the one stated, and an e-signature with neither', () => {
    expect(() => verificationFact(event('verification.verified', { esign: { terms_version: 'v1', signed_at: '2026-12-03T06:59:00Z', document_sha256: 'a'.repeat(64), document: DOCUMENT.toString('base64') } })))
      .toThrow(new VerificationFactError('data.esign.document_sha256 does not match the document'));
    expect(() => verificationFact(event('verification.verified', { esign: { terms_version: 'v1', signed_at: '2026-12-03T06:59:00Z' } }))).toThrow(VerificationFactError);
    expect(() => verificationFact(event('verification.verified', { esign: { terms_version: 'v1', signed_at: '2026-12-03T06:59:00Z', document_sha256: 'xyz' } }))).toThrow('64 hex digits');
  });

  it('reads a rejection with its reason, and gives one when the provider did not', () => {
    expect(verificationFact(event('verification.rejected', { reason: 'PAN is not valid', kyc: { pan_last4: null, name: 'D', name_matched: false } })))
      .toMatchObject({ kind: 'Verdict', outcome: 'REJECTED', reason: 'PAN is not valid', kyc: { panLast4: null, nameMatched: false }, esign: null });
    expect(verificationFact(event('verification.rejected'))).toMatchObject({ outcome: 'REJECTED', reason: 'rejected by the provider' });
  });

  it('reads progress: the steps completed, unknown steps dropped', () => {
    expect(verificationFact(event('verification.pending', { steps_completed: ['kyc', 'selfie', 'kyc'] }))).toEqual({
      kind: 'Progress', providerRef: 'vrf_1', reference: REFERENCE, stepsCompleted: ['KYC'], occurredAt: new Date('2026-12-03T07:00:00.000Z'),
    });
  });

  it('ignores types it does not act on, without reading them', () => {
    expect(verificationFact({ id: 'vevt_2', type: 'verification.session_opened', data: 'anything' })).toEqual({ kind: 'Ignored', type: 'verification.session_opened' });
    expect(verificationFact({ id: 'vevt_3' })).toEqual({ kind: 'Ignored', type: '(none)' });
  });

  it('refuses what it cannot read: no session id, a bad time, a PAN fragment of another shape, a name_matched that is not a boolean', () => {
    expect(() => verificationFact(event('verification.verified', { verification_id: undefined }))).toThrow('data.verification_id is missing');
    expect(() => verificationFact(event('verification.verified', {}, { created: 'yesterday' }))).toThrow('created must be an ISO time or unix seconds');
    expect(() => verificationFact(event('verification.verified', { kyc: { pan_last4: '12-4' } }))).toThrow('pan_last4');
    expect(() => verificationFact(event('verification.verified', { kyc: { name_matched: 'yes' } }))).toThrow('name_matched');
    expect(() => verificationFact({ id: 'vevt_4', type: 'verification.verified', data: [] })).toThrow('data must be an object');
  });
});

describe('SandboxVerificationProvider.verifyWebhook', () => {
  const provider = new SandboxVerificationProvider({ apiUrl: undefined, webhookSecret: 'test-verification-secret', timeoutMs: 1000 });
  const body = Buffer.from(JSON.stringify(event('verification.verified')));

  it('accepts the HMAC-SHA256 of the exact bytes, in any case', () => {
    const signature = signVerificationBody(body, 'test-verification-secret');
    expect(provider.verifyWebhook(body, signature)).toMatchObject({ eventId: 'vevt_1', type: 'verification.verified' });
    expect(provider.verifyWebhook(body, signature.toUpperCase()).eventId).toBe('vevt_1');
  });

  it('refuses a missing signature, another secret, and a body changed after signing', () => {
    expect(() => provider.verifyWebhook(body, undefined)).toThrow(WebhookSignatureError);
    expect(() => provider.verifyWebhook(body, signVerificationBody(body, 'another-secret'))).toThrow('Signature does not match the body');
    const changed = Buffer.from(body.toString().replace('vrf_1', 'vrf_2'));
    expect(() => provider.verifyWebhook(changed, signVerificationBody(body, 'test-verification-secret'))).toThrow('Signature does not match the body');
  });

  it('refuses a signed body that is not an event', () => {
    const notJson = Buffer.from('not json');
    expect(() => provider.verifyWebhook(notJson, signVerificationBody(notJson, 'test-verification-secret'))).toThrow('not JSON');
    const noId = Buffer.from(JSON.stringify({ type: 'verification.verified' }));
    expect(() => provider.verifyWebhook(noId, signVerificationBody(noId, 'test-verification-secret'))).toThrow('id is missing');
  });

  it('answers "unavailable" for a session when the provider is not running', async () => {
    await expect(provider.start({ verificationId: REFERENCE, customer: { id: REFERENCE, name: null, email: null }, terms: { version: null, kycRequired: true } }))
      .rejects.toMatchObject({ name: 'VerificationProviderError', retryable: true });
  });
});
