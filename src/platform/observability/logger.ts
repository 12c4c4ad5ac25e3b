import pino, { type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { safeErrorMessage, serializeError, serializeErrorFields } from './safe-error';

export type { Logger };

/** json: one JSON object a line, for machines. pretty: a readable line, for people at a terminal. */
export type LogFormat = 'json' | 'pretty';

/**
 * Structured JSON logs. Secrets and raw bodies are redacted by path as a second line of defence.
 * Errors, under `err` or any other field, are written by serializeError: class, code, a message
 * with SQL statements taken out, stack frames; never a driver's sql, parameters or query (which
 * carry webhook payloads: customers' names and emails). A log call with an error and no message
 * gets the safe message, not pino's default of error.message.
 *
 * `format` is decided by the caller (config's LOG_FORMAT, see resolveLogFormat): pretty lines go
 * through pino-pretty as a synchronous stream in this process, not a worker transport, so a test or
 * a short-lived CLI that exits right after logging loses no line. Redaction and error
 * serialisation happen before either format is written.
 */
export function createLogger(level: string, base: Record<string, unknown> = {}, destination?: DestinationStream, format: LogFormat = 'json'): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'recoup', ...base },
    redact: {
      // Verification details are personal data (src/verification/): never written, whatever logs them.
      paths: ['*.authorization', '*.Authorization', '*.secret', '*.token', 'req.headers', 'body', 'rawBody', 'payload', '*.payload', 'kyc', '*.kyc', 'esign', '*.esign', 'panLast4', '*.panLast4', 'pan_last4', '*.pan_last4', 'kycName', '*.kycName', 'signedDocument', '*.signedDocument', 'document', '*.document'],
      censor: '[redacted]',
    },
    serializers: { err: serializeError, error: serializeError },
    formatters: { log: (fields) => serializeErrorFields(fields) },
    hooks: {
      logMethod(args, method) {
        const [first, ...rest] = args as unknown[];
        if (first instanceof Error) {
          const message = typeof rest[0] === 'string' ? rest.shift() : safeErrorMessage(first);
          return method.apply(this, [{ err: first }, message, ...rest] as Parameters<typeof method>);
        }
        const err = first !== null && typeof first === 'object' ? (first as { err?: unknown }).err : undefined;
        if (err instanceof Error && rest.length === 0 && (first as { msg?: unknown }).msg === undefined) {
          return method.apply(this, [first, safeErrorMessage(err)] as Parameters<typeof method>);
        }
        return method.apply(this, args);
      },
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (format === 'pretty') return pino(options, prettyStream(destination));
  return destination ? pino(options, destination) : pino(options);
}

function prettyStream(destination: DestinationStream | undefined): DestinationStream {
  return pinoPretty({
    destination: destination ?? 1,
    sync: true,
    // Colours only on our own stdout (pino-pretty checks it is a colour terminal); never into a given stream.
    ...(destination ? { colorize: false } : {}),
    translateTime: 'SYS:HH:MM:ss.l',
    // "INFO: scheduler: scheduler started": the component leads the message instead of a field line.
    messageFormat: '{if component}{component}: {end}{msg}',
    ignore: 'pid,hostname,service,component',
  });
}
