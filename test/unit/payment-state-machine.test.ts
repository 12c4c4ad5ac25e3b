import { ALLOWED_TRANSITIONS, decideTransition, PaymentStatus, type TransitionDecision } from '../../src/payments/payment-status';

const S = PaymentStatus;
const ALL = Object.values(PaymentStatus);

/**
 * The whole matrix written out by hand, so a change to the table or the ranks shows up here as a
 * reviewed diff. n: noop, a: apply, s: skip (already past the target), r: refuse.
 */
const COLUMNS = [S.PENDING, S.AUTHORIZED, S.SUCCEEDED, S.FAILED, S.EXPIRED, S.CANCELLED, S.REFUNDED, S.DISPUTED];
const MATRIX: Record<PaymentStatus, string> = {
  //              PEN AUT SUC FAI EXP CAN REF DIS
  [S.PENDING]:    'n   a   a   a   a   a   r   r',
  [S.AUTHORIZED]: 's   n   a   a   s   a   r   r',
  [S.SUCCEEDED]:  's   s   n   s   s   s   a   a',
  [S.FAILED]:     's   a   a   n   a   a   r   r',
  [S.EXPIRED]:    's   a   a   r   n   r   r   r',
  [S.CANCELLED]:  's   a   a   r   r   n   r   r',
  [S.REFUNDED]:   's   s   s   s   s   s   n   s',
  [S.DISPUTED]:   's   s   a   s   s   s   a   n',
};
const LETTER: Record<string, TransitionDecision> = { n: 'noop', a: 'apply', s: 'skip', r: 'refuse' };

function expected(from: PaymentStatus, to: PaymentStatus): TransitionDecision {
  const letters = MATRIX[from].split(/\s+/);
  return LETTER[letters[COLUMNS.indexOf(to)]];
}

const pairs = ALL.flatMap((from) => ALL.map((to) => [from, to] as const));

describe('payment state machine', () => {
  it('the hand-written matrix covers every status of the enum', () => {
    expect([...COLUMNS].sort()).toEqual([...ALL].sort());
    expect(Object.keys(MATRIX).sort()).toEqual([...ALL].sort());
    for (const from of ALL) expect(MATRIX[from].split(/\s+/)).toHaveLength(ALL.length);
  });

  it.each(pairs)('%s -> %s', (from, to) => {
    expect(decideTransition(from, to)).toBe(expected(from, to));
  });

  it('applies exactly the transitions in the allowed table, and nothing else', () => {
    for (const [from, to] of pairs) {
      expect({ from, to, apply: decideTransition(from, to) === 'apply' }).toEqual({ from, to, apply: ALLOWED_TRANSITIONS[from].includes(to) });
    }
  });

  it('a transition to the same status is a noop, never an apply', () => {
    for (const status of ALL) {
      expect(ALLOWED_TRANSITIONS[status]).not.toContain(status);
      expect(decideTransition(status, status)).toBe('noop');
    }
  });

  it('never moves money backwards: a late failure, expiry or cancel after success is skipped', () => {
    for (const from of [S.SUCCEEDED, S.DISPUTED, S.REFUNDED]) {
      for (const to of [S.PENDING, S.AUTHORIZED, S.FAILED, S.EXPIRED, S.CANCELLED]) {
        expect(`${from}->${to}:${decideTransition(from, to)}`).toBe(`${from}->${to}:skip`);
      }
    }
  });

  it('honours a late payment on an expired or cancelled checkout', () => {
    expect(decideTransition(S.EXPIRED, S.SUCCEEDED)).toBe('apply');
    expect(decideTransition(S.CANCELLED, S.SUCCEEDED)).toBe('apply');
    expect(decideTransition(S.EXPIRED, S.AUTHORIZED)).toBe('apply');
  });

  it('lets a customer retry the card after a failure', () => {
    expect(decideTransition(S.FAILED, S.SUCCEEDED)).toBe('apply');
    expect(decideTransition(S.PENDING, S.FAILED)).toBe('apply');
  });

  it('treats REFUNDED as final: every other target is skipped', () => {
    for (const to of ALL) expect(decideTransition(S.REFUNDED, to)).toBe(to === S.REFUNDED ? 'noop' : 'skip');
  });

  it('refuses moves between equally-far statuses and jumps that skip the payment itself', () => {
    expect(decideTransition(S.EXPIRED, S.FAILED)).toBe('refuse');
    expect(decideTransition(S.CANCELLED, S.EXPIRED)).toBe('refuse');
    expect(decideTransition(S.PENDING, S.REFUNDED)).toBe('refuse');
    expect(decideTransition(S.AUTHORIZED, S.DISPUTED)).toBe('refuse');
  });

  it('a dispute can be won (back to SUCCEEDED) or lost to a refund', () => {
    expect(decideTransition(S.SUCCEEDED, S.DISPUTED)).toBe('apply');
    expect(decideTransition(S.DISPUTED, S.SUCCEEDED)).toBe('apply');
    expect(decideTransition(S.DISPUTED, S.REFUNDED)).toBe('apply');
  });
});
