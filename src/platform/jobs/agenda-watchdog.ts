import { createHook } from 'node:async_hooks';
import type { Agenda, Job } from 'agenda';

/*
 * Agenda 6.2.6 arms a lock watchdog for every run it starts (`JobProcessor.runOrRetry`:
 * `await delay(max(processEvery, lockLifetime) / 2)`, a plain setTimeout) and never clears it. With
 * a 10-minute lock lifetime each run started in the last 5 minutes would keep the process alive after
 * stop(). Timers created while a run is being dispatched are therefore unref'd: the watchdog still
 * fires while the process lives, it just no longer holds the process open. The handler itself is
 * called after an await, outside this window, so its own timers are untouched.
 */
let dispatching = 0;
const unrefNewTimers = createHook({
  init(_asyncId, type, _triggerAsyncId, resource) {
    if (dispatching > 0 && type === 'Timeout') (resource as NodeJS.Timeout).unref();
  },
});

interface RunDispatcher {
  runOrRetry(job: Job): Promise<void>;
}

/** Call after `agenda.start()`. Returns false when Agenda's internals no longer look as expected. */
export function releaseWatchdogTimers(agenda: Agenda): boolean {
  const processor = (agenda as unknown as { jobProcessor?: Partial<RunDispatcher> }).jobProcessor;
  const dispatch = processor?.runOrRetry;
  if (!processor || typeof dispatch !== 'function') return false;
  processor.runOrRetry = (job: Job) => {
    if (dispatching++ === 0) unrefNewTimers.enable();
    try {
      return dispatch.call(processor, job);
    } finally {
      if (--dispatching === 0) unrefNewTimers.disable();
    }
  };
  return true;
}
