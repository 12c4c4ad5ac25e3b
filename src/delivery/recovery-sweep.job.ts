import type { JobDefinition } from '../platform/jobs/job';
import type { RecoverySweep } from './recovery-sweep';

/** The periodic backstop of delivery; the start-up run is made by the app itself (app.ts). */
export function recoverySweepJob(sweep: RecoverySweep, every: string): JobDefinition {
  return {
    name: 'delivery:recovery-sweep',
    description: 'Delivers paid payments whose delivery is due, was missed, or whose worker died.',
    schedule: { every },
    handler: async () => ({ ...(await sweep.run('sweep')) }),
  };
}
