import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs. Secrets and raw bodies are redacted by path as a second line of defence. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'recoup', ...base },
    redact: {
      paths: ['*.authorization', '*.Authorization', '*.secret', '*.token', 'req.headers', 'body', 'rawBody'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
