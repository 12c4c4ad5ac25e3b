import { AnalyticsCompaction, analyticsCompactionJob } from '../analytics/analytics-compaction';
import { AnalyticsService } from '../analytics/analytics.service';
import type { Database } from '../platform/database/transaction';
import type { Scheduler } from '../platform/jobs/scheduler';

export interface Analytics {
  analytics: AnalyticsService;
  analyticsCompaction: AnalyticsCompaction;
}

/** Money and delivery over time: the rollups' readers (the triggers keep them) and their hourly compaction. */
export function createAnalytics(deps: { db: Database; scheduler: Scheduler }): Analytics {
  const analyticsCompaction = new AnalyticsCompaction(deps.db);
  deps.scheduler.define(analyticsCompactionJob(analyticsCompaction));
  return { analytics: new AnalyticsService(), analyticsCompaction };
}
