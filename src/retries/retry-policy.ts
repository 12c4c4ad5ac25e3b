import { retryDelay, type RetryStrategy } from './strategies';

const DAY_MS = 86_400_000;

export interface NextStepInput {
  strategy: RetryStrategy;
  /** Retries this job has already made. */
  retriesUsed: number;
  now: Date;
  /** No retry after this (a renewal: before access is cut); null: no deadline. */
  deadline: Date | null;
  /** Retries of this card within the budget window, across all jobs. */
  cardRetries: number;
  cardBudget: number;
  jitter: number;
  random?: () => number;
}

export type NextStep =
  | { kind: 'retry'; at: Date; retry: number }
  | { kind: 'customer_action'; message: string }
  | { kind: 'exhausted'; why: string };

/** After a failed attempt: retry when, tell the customer, or give up — and why. */
export function nextStep(input: NextStepInput): NextStep {
  const { strategy, retriesUsed, now, deadline } = input;
  if (strategy.customerMessage) return { kind: 'customer_action', message: strategy.customerMessage };
  if (strategy.maxAttempts === 0) return { kind: 'exhausted', why: `${strategy.reason}: never retried` };
  if (retriesUsed >= strategy.maxAttempts) return { kind: 'exhausted', why: `${strategy.reason}: ${strategy.maxAttempts} retries spent` };
  if (budgetSpent(input.cardRetries, input.cardBudget)) return { kind: 'exhausted', why: `card retry budget spent (${input.cardBudget})` };
  if (deadline && now >= deadline) return { kind: 'exhausted', why: 'no time left before access is cut' };
  const retry = retriesUsed + 1;
  const planned = new Date(now.getTime() + retryDelay(strategy, retry, input.jitter, input.random));
  // A retry due after the deadline is pulled in to the deadline: the last chance comes before access is cut.
  return { kind: 'retry', at: deadline && planned > deadline ? deadline : planned, retry };
}

export function budgetSpent(cardRetries: number, cardBudget: number): boolean {
  return cardRetries >= cardBudget;
}

export function budgetWindowStart(now: Date, windowDays: number): Date {
  return new Date(now.getTime() - windowDays * DAY_MS);
}
