/**
 * Reconciliation at scale: BENCH_PAYMENTS (100,000) payments in our database and their
 * PaymentIntents in the fake Stripe, BENCH_DISCREPANCY_RATE (1%) of them planted discrepancies of
 * every kind, and the fake limited to 100 requests per second as Stripe is. One run; prints wall
 * time, gateway calls per payment (target ≤ 0.02), 429s, recall and precision. The fake runs in a
 * worker thread (reconcile-stripe.worker.ts), so its heap and per-page work are not timed as Recoup's.
 * Not a jest test:
 *
 *   tsc -p tsconfig.bench.json && node --max-old-space-size=4096 dist/test/bench/reconcile.bench.js
 *
 * DATABASE_URL: a PostgreSQL server to create a throw-away database on; else an embedded one.
 * RECONCILIATION_MAX_RPS (default 100) and RECONCILIATION_CONCURRENCY (4) are passed through;
 * BENCH_LOG_LEVEL (silent) shows Recoup's log.
 */
import 'reflect-metadata';
import { startApp } from '../../src/app/app';
import { loadConfig, resolveLogFormat } from '../../src/platform/config';
import { FindingType } from '../../src/reconciliation/reconciliation-finding.entity';
import { ManualClock } from '../../src/platform/shared/clock';
import { createLogger } from '../../src/platform/observability/logger';
import { startFakeTelegram } from '../../src/sandbox/telegram/fake-telegram.server';
import { addCleanPopulation, plantDiscrepancies, plantMissedWebhooks, plantPayouts, type Planted } from '../support/reconciliation-plant';
import { ReconciliationScenario } from '../support/reconciliation-seed';
import { RemoteStripe } from './remote-stripe';
import { benchDatabase } from './bench-database';

type Stop = () => Promise<void>;

const PAYMENTS = Number(process.env.BENCH_PAYMENTS ?? 100_000);
const RATE = Number(process.env.BENCH_DISCREPANCY_RATE ?? 0.01);
const KINDS = Object.keys(FindingType).length;
const PER_TYPE = Math.ceil((PAYMENTS * RATE) / KINDS);
const FAKE_LIMIT = 100;
const WEBHOOK_SECRET = 'whsec_bench_recoup_reconcile';

/** Our payments and Stripe's objects, with PER_TYPE of each discrepancy planted among them. */
async function populate(scenario: ReconciliationScenario, clock: ManualClock): Promise<Planted[]> {
  const now = clock.now();
  // Planting adds about five payments per kind-round (out of sync, stuck, no-show, missed webhook, a third of the missing).
  const succeeded = addCleanPopulation(scenario, now, PAYMENTS - Math.round(PER_TYPE * 4.4));
  const planted = plantDiscrepancies(scenario, now, PER_TYPE, succeeded);
  planted.push(...(await plantPayouts(scenario, now, PER_TYPE)));
  await scenario.flush();
  await scenario.stripe.markEventsDelivered();
  planted.push(...(await plantMissedWebhooks(scenario, now, PER_TYPE)));
  await scenario.flush();
  clock.advance(60_000);
  return planted;
}

function score(planted: Planted[], found: Array<{ type: string; subject_id: string }>) {
  const key = (type: string, id: string) => `${type} ${id}`;
  const wanted = new Set(planted.map((p) => key(p.type, p.subjectId)));
  const got = found.map((f) => key(f.type, f.subject_id));
  const hits = new Set(got.filter((k) => wanted.has(k))).size;
  return { hits, duplicates: got.length - new Set(got).size, recall: hits / wanted.size, precision: got.length ? hits / got.length : 1 };
}

async function main(): Promise<number> {
  const cleanups: Stop[] = [];
  try {
    const database = await benchDatabase();
    cleanups.unshift(database.stop);
    const clock = new ManualClock();
    const stripe = await RemoteStripe.start({ webhookSecret: WEBHOOK_SECRET, rateLimitPerSecond: FAKE_LIMIT, clockAt: clock.now() });
    cleanups.unshift(() => stripe.close());
    const telegram = await startFakeTelegram({ botToken: '123456:bench-token' });
    cleanups.unshift(() => telegram.close());
    const config = loadConfig({
      NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent', DATABASE_URL: database.url,
      STRIPE_SECRET_KEY: 'sk_test_bench', STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_API_URL: stripe.url, STRIPE_MAX_NETWORK_RETRIES: '0',
      TELEGRAM_BOT_TOKEN: '123456:bench-token', TELEGRAM_API_URL: telegram.url, AUTH_JWT_SECRET: 'bench-secret-that-is-at-least-32-characters',
      RECONCILIATION_MAX_RPS: process.env.RECONCILIATION_MAX_RPS ?? String(FAKE_LIMIT),
      RECONCILIATION_CONCURRENCY: process.env.RECONCILIATION_CONCURRENCY ?? '4',
    });
    const app = await startApp({ config, databaseUrl: database.url, clock, logger: createLogger(config.logLevel, {}, undefined, resolveLogFormat(config.logFormat)), startJobs: false });
    cleanups.unshift(() => app.stop());
    await stripe.send({ kind: 'setWebhookUrl', url: `${app.url}/webhooks/stripe` });

    const seeding = Date.now();
    const planted = await populate(await ReconciliationScenario.create(app, stripe), clock);
    await stripe.send({ kind: 'clock', at: clock.now() });
    const fake = await stripe.send<{ intents: number; payouts: number }>({ kind: 'stats' });
    const ours = Number((await app.services.db.fork().execute<Array<{ n: string }>>('select count(*) as n from payments'))[0].n);
    console.log(`reconcile bench: ${ours} payments, ${fake.intents} PaymentIntents, ${fake.payouts} payouts; ${planted.length} planted (${PER_TYPE} of each of ${KINDS} kinds); fake limit ${FAKE_LIMIT} req/s, our ceiling ${config.reconciliation.maxRequestsPerSecond} req/s, ${config.reconciliation.concurrency} ranges at once; seeded in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);

    const started = Date.now();
    const run = await app.services.reconciliation.run('bench');
    const wallMs = Date.now() - started;
    const found = await app.services.db.fork().execute<Array<{ type: string; subject_id: string }>>('select type, subject_id from reconciliation_findings where run_id = ?', [run.id]);
    const s = score(planted, found);
    console.log(`run     ${run.status}, wall ${(wallMs / 1000).toFixed(1)} s, ${run.paymentsChecked} intents checked, errors ${JSON.stringify(run.errors)}`);
    console.log(`gateway ${run.apiCalls} calls (${run.rateLimited} answered 429 and retried) = ${(run.apiCalls / ours).toFixed(4)} calls per payment (target <= 0.02)`);
    console.log(`found   out-of-sync ${run.outOfSync}, stuck ${run.stuckAuthorizations}, no-show released ${run.noShowsReleased}, unknown ${run.unknownGatewayPayments}, missing ${run.missingPayments}, failed payouts ${run.failedPayouts}, missed webhooks ${run.missedWebhooks}; alerts raised ${run.alertsRaised}`);
    console.log(`score   recall ${(s.recall * 100).toFixed(2)}% (${s.hits}/${planted.length}), precision ${(s.precision * 100).toFixed(2)}% (${s.hits}/${found.length}), duplicates ${s.duplicates}`);
    const ok = s.recall === 1 && s.precision === 1 && s.duplicates === 0 && run.apiCalls / ours <= 0.02;
    console.log(ok ? 'PASS' : 'FAIL');
    return ok ? 0 : 1;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  }
}

main().then((code) => process.exit(code), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
