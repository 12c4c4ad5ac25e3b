import { endTestRun } from './global-setup';

/** Jest's globalTeardown: see endTestRun. */
export default async function globalTeardown(): Promise<void> {
  await endTestRun();
}
