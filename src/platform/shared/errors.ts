/**
 * Every failure a client can see is an AppError with a fixed code; the GraphQL formatter turns
 * it into `extensions.code`. Features subclass it with static constructors.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'GATEWAY_ERROR'
  | 'INVALID_TRANSITION'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }

  static badInput(message: string, details: Record<string, unknown> = {}): AppError {
    return new AppError('BAD_USER_INPUT', message, details);
  }

  static notFound(entity: string, id: string): AppError {
    return new AppError('NOT_FOUND', `${entity} ${id} was not found`, { entity, id });
  }

  static conflict(message: string, details: Record<string, unknown> = {}): AppError {
    return new AppError('CONFLICT', message, details);
  }

  static unauthenticated(message = 'Authentication required'): AppError {
    return new AppError('UNAUTHENTICATED', message);
  }

  static forbidden(message = 'Not allowed for your role'): AppError {
    return new AppError('FORBIDDEN', message);
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
