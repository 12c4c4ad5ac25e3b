import type { Tx } from '../platform/database/transaction';

/** Who is being erased: their id and the personal values still on their row (read before they are nulled). */
export interface ErasureSubject {
  customerId: string;
  name: string | null;
  email: string | null;
  phone: string | null;
  telegramUserId: string | null;
}

export const REDACTED = '[redacted]';

const escapeRegex = (value: string): string => value.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');

/**
 * One PostgreSQL (ARE) pattern that finds any of the subject's personal values in text, used
 * case-insensitively: the email, the full name (any run of spaces between its words), the phone
 * (its digits, whatever separators are between them) and the Telegram user id. Each is bounded so
 * that it cannot match inside a longer value (700100200 is not found in 1700100200). Null when
 * nothing is left to look for. Values too short to be told apart from ordinary words are skipped.
 * `name: false` leaves the name out where a match decides more than the matched words themselves
 * (two customers may share a name; they do not share an email, phone or Telegram id).
 */
export function personalValuePattern(subject: ErasureSubject, options: { name?: boolean } = {}): string | null {
  const parts: string[] = [];
  const email = subject.email?.trim();
  if (email && email.length >= 3) parts.push(`(?<![[:alnum:]._%+-])${escapeRegex(email)}(?![[:alnum:]_-])`);
  const name = options.name === false ? null : subject.name?.trim();
  if (name && name.length >= 3) parts.push(`(?<![[:alnum:]])${name.split(/\s+/).map(escapeRegex).join('\\s+')}(?![[:alnum:]])`);
  const phone = subject.phone?.trim();
  const digits = phone?.replace(/\D/g, '') ?? '';
  if (digits.length >= 6) parts.push(`(?<![0-9])\\+?${digits.split('').join('[\\s().-]*')}(?![0-9])`);
  else if (phone && phone.length >= 3) parts.push(`(?<![[:alnum:]])${escapeRegex(phone)}(?![[:alnum:]])`);
  const telegram = subject.telegramUserId?.trim();
  if (telegram && /^-?\d{3,}$/.test(telegram)) parts.push(`(?<![0-9])${telegram}(?![0-9])`);
  return parts.length > 0 ? parts.map((p) => `(?:${p})`).join('|') : null;
}

/**
 * The same pattern where it stands as a bare JSON number (`"id": 700100200`) in `jsonb::text`:
 * replaced by a string there, so the text stays valid JSON. Group 1 is what precedes it.
 */
export const bareJsonPattern = (pattern: string): string => `(: |\\[|, )(?:${pattern})(?=[,}\\]])`;

/** SQL that redacts the pattern inside a jsonb column, given `p.re` and `p.bare` in scope. */
export const redactJsonSql = (column: string): string =>
  `regexp_replace(regexp_replace(${column}::text, p.bare, '\\1"${REDACTED}"', 'gi'), p.re, '${REDACTED}', 'gi')::jsonb`;

/**
 * Free-text and jsonb columns that can pick up a personal value in passing: audit notes and
 * before/after values (a declined join request records the Telegram id of whoever asked), alert
 * texts, error messages copied from Telegram or Stripe, operator-typed reasons, and any gateway
 * payload still holding a value after scrubGatewayEvents (the name, on an event nothing else links
 * to them). Rows that belong to the customer by key (binding tokens, invite links, the outbox,
 * gateway payloads) are handled by their owners' hooks first; this is the net under them, by value. Catalog tables (plan, bundle, channel
 * names) are left alone on purpose: they are not personal, and a name-shaped word must not erase them.
 */
const COPIES: ReadonlyArray<{ table: string; text?: readonly string[]; json?: readonly string[] }> = [
  { table: 'audit_entries', text: ['note'], json: ['before', 'after'] },
  { table: 'alerts', text: ['title', 'detail', 'resolution_note'] },
  { table: 'gateway_events', text: ['outcome', 'last_error'], json: ['payload'] },
  { table: 'payments', text: ['failure_message', 'refund_reason', 'capture_last_error'] },
  { table: 'deliveries', text: ['failure_reason', 'access_revoked_reason'] },
  { table: 'refunds', text: ['reason', 'failure_message'] },
  { table: 'retry_jobs', text: ['error_message', 'outcome'] },
  { table: 'retry_attempts', text: ['message'] },
  { table: 'subscriptions', text: ['removal_error'] },
  { table: 'cleanup_runs', text: ['last_error'] },
  { table: 'telegram_outbox', text: ['last_error'] },
  { table: 'reconciliation_findings', text: ['detail'], json: ['data'] },
  { table: 'reconciliation_runs', json: ['errors'] },
  // The provider's reason and an operator's note; the PAN fragment, name and document are nulled by forgetVerificationDetails.
  { table: 'verifications', text: ['reason', 'override_note', 'kyc_name'] },
];

/** Erasure hook: one UPDATE per table above, replacing each personal value found with "[redacted]". */
export async function redactPersonalValues(tx: Tx, subject: ErasureSubject): Promise<void> {
  const pattern = personalValuePattern(subject);
  if (!pattern) return;
  for (const { table, text = [], json = [] } of COPIES) {
    const sets = [
      ...text.map((c) => `"${c}" = regexp_replace(t."${c}", p.re, '${REDACTED}', 'gi')`),
      ...json.map((c) => `"${c}" = ${redactJsonSql(`t."${c}"`)}`),
    ];
    const where = [...text.map((c) => `t."${c}" ~* p.re`), ...json.map((c) => `t."${c}"::text ~* p.re`)];
    await tx.em.execute(
      `with p as (select ?::text as re, ?::text as bare)
       update "${table}" t set ${sets.join(', ')} from p where ${where.join(' or ')}`,
      [pattern, bareJsonPattern(pattern)],
    );
  }
}
