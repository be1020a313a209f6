import { createRequire } from 'node:module';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

/**
 * Paths that could carry a HES code or a credential. The sandbox only ever logs masked codes on
 * purpose (SPEC §6); redaction is the net under that rule, and Authorization is never logged.
 */
export const SANDBOX_REDACT_PATHS = [
  'hes_code',
  '*.hes_code',
  'password',
  '*.password',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'body',
  'req.body',
];

/** pino-pretty when asked for (LOG_PRETTY under `pnpm dev`) and installed; JSON lines otherwise. */
function prettyTarget(): string | null {
  try {
    return createRequire(import.meta.url).resolve('pino-pretty');
  } catch {
    return null;
  }
}

export interface SandboxLoggerSettings {
  level?: string;
  pretty?: boolean;
  destination?: DestinationStream;
}

export function createSandboxLogger(settings: SandboxLoggerSettings = {}): Logger {
  const pretty = settings.pretty && !settings.destination ? prettyTarget() : null;
  const options: LoggerOptions = {
    name: 'hes-sandbox',
    level: settings.level ?? 'info',
    base: { service: 'hes-sandbox' },
    redact: { paths: SANDBOX_REDACT_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    ...(pretty
      ? {
          transport: {
            target: pretty,
            options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
          },
        }
      : {}),
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
