import type { Config } from '../platform/config';
import type { Database } from '../platform/database/transaction';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway';
import type { AppPubSub } from '../platform/graphql/pubsub';
import type { JobStatus, Scheduler } from '../platform/jobs/scheduler';
import type { TelegramClient } from '../integrations/telegram/telegram.client';

export interface ComponentCheck {
  ok: boolean;
  latencyMs: number;
  error: string | null;
}

export interface SystemHealthReport {
  ok: boolean;
  database: ComponentCheck;
  scheduler: ComponentCheck & { backend: string };
  /** getMe: the token is valid and the Bot API reachable. Not part of readiness: Recoup works on while Telegram is down. */
  telegram: ComponentCheck & { botUsername: string | null };
  jobs: JobStatus[];
  gatewayMode: PaymentGateway['mode'];
  pubsubMode: AppPubSub['mode'];
  sandbox: boolean;
  checkedAt: Date;
}

async function timed(check: () => Promise<unknown>, timeoutMs = 3000): Promise<ComponentCheck> {
  const started = Date.now();
  try {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const result = await Promise.race([check(), timeout]).finally(() => clearTimeout(timer));
    if (result === false) throw new Error('check failed');
    return { ok: true, latencyMs: Date.now() - started, error: null };
  } catch (error) {
    return { ok: false, latencyMs: Date.now() - started, error: error instanceof Error ? error.message : String(error) };
  }
}

export class HealthService {
  /** Set on SIGTERM: /readyz answers 503 so a load balancer stops sending while requests finish. */
  draining = false;
  /** HTTP requests being answered, bar /healthz and /readyz: the drain waits for them before closing the listener. */
  activeRequests = 0;

  async whenNoRequests(): Promise<void> {
    while (this.activeRequests > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  constructor(private readonly deps: { config: Config; db: Database; scheduler: Scheduler; gateway: PaymentGateway; pubsub: AppPubSub; telegram: TelegramClient }) {}

  async readiness(): Promise<{ ok: boolean; database: ComponentCheck; scheduler: ComponentCheck }> {
    const [database, scheduler] = await Promise.all([
      timed(() => this.deps.db.fork().execute('select 1')),
      timed(() => this.deps.scheduler.ping()),
    ]);
    return { ok: database.ok && scheduler.ok, database, scheduler };
  }

  private inFlight: Promise<SystemHealthReport> | null = null;

  /**
   * Callers that overlap share one check: an operation that asks for systemHealth under 300 aliases,
   * or many dashboards at once, costs Telegram one getMe, not one each. Nothing is kept after it
   * answers, so the next request sees the state as it is then.
   */
  report(): Promise<SystemHealthReport> {
    this.inFlight ??= this.check().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async check(): Promise<SystemHealthReport> {
    const [ready, telegram] = await Promise.all([this.readiness(), this.checkTelegram()]);
    const jobs = ready.scheduler.ok ? await this.deps.scheduler.status().catch(() => []) : [];
    return {
      ok: ready.ok,
      database: ready.database,
      scheduler: { ...ready.scheduler, backend: this.deps.scheduler.backendKind },
      telegram,
      jobs,
      gatewayMode: this.deps.gateway.mode,
      pubsubMode: this.deps.pubsub.mode,
      sandbox: this.deps.config.sandbox,
      checkedAt: new Date(),
    };
  }

  private async checkTelegram(): Promise<ComponentCheck & { botUsername: string | null }> {
    let botUsername: string | null = null;
    const check = await timed(async () => {
      botUsername = (await this.deps.telegram.getMe()).username ?? null;
    });
    return { ...check, botUsername };
  }
}
