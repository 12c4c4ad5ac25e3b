import { AppError } from '../shared/errors';

/** An operation named a job this scheduler has no definition for. `code` is 'NOT_FOUND'. */
export class JobNotFoundError extends AppError {
  constructor(readonly jobName: string) {
    super('NOT_FOUND', `Job ${jobName} was not found`, { entity: 'Job', id: jobName });
  }
}

export class SchedulerError extends AppError {
  static duplicateDefinition(name: string): SchedulerError {
    return new SchedulerError('CONFLICT', `Job ${name} is already defined`, { name });
  }

  static definedAfterStart(name: string): SchedulerError {
    return new SchedulerError('CONFLICT', `Job ${name} must be defined before start()`, { name });
  }

  /** `subject` is a job name, or 'processEvery'. */
  static invalidInterval(subject: string, interval: string, reason?: string): SchedulerError {
    return new SchedulerError('BAD_USER_INPUT', `${subject}: invalid interval "${interval}"`, { subject, interval, reason });
  }

  static invalidConcurrency(name: string, concurrency: number): SchedulerError {
    return new SchedulerError('BAD_USER_INPUT', `Job ${name}: concurrency must be a positive integer`, { name, concurrency });
  }

  static notRepeating(name: string): SchedulerError {
    return new SchedulerError('BAD_USER_INPUT', `Job ${name} has no repeating schedule to pause or resume`, { name });
  }

  static stopped(): SchedulerError {
    return new SchedulerError('UNAVAILABLE', 'The scheduler was stopped and cannot be used again');
  }
}
