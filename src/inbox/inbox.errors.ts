import { AppError } from '../platform/shared/errors';

/** Why an operator action on a stored gateway event cannot go ahead. */
export class InboxError extends AppError {
  static notFound(id: string): InboxError {
    return new InboxError('NOT_FOUND', `Inbound event ${id} was not found`, { entity: 'InboundEvent', id });
  }

  /** Stored failed for good (a field it relies on could not be stored as sent): replaying it would act on a guessed value. */
  static refused(id: string, lastError: string): InboxError {
    return new InboxError('CONFLICT', `Inbound event ${id} can never be applied: ${lastError}`, { id });
  }
}
