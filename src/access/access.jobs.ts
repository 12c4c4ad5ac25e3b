import type { JobDefinition } from '../platform/jobs/job';
import type { Retention } from './retention.service';
import { TEST_LINK_REMOVAL_JOB, type TestLinkService } from './test-link.service';

export function retentionJob(retention: Retention, every: string): JobDefinition {
  return {
    name: 'access:retention',
    description: 'Marks expired links revoked, removes members of ended test links, purges never-paid payments past retention.',
    schedule: { every },
    handler: async () => ({ ...(await retention.run()) }),
  };
}

export function testLinkRemovalJob(testLinks: TestLinkService): JobDefinition {
  return {
    name: TEST_LINK_REMOVAL_JOB,
    description: 'Removes the member of one test link at the second it ends (scheduled per link).',
    handler: async (_ctx, data) => ({ removed: await testLinks.removeAccess(String(data?.linkId)) }),
  };
}
