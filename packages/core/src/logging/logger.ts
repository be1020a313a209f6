import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

/**
 * Paths that may carry a HES code, a credential or an API key: pino replaces them before a line is
 * written (SPEC §6). Code paths never log a raw code on purpose; this is the net under that rule.
 */
export const REDACT_PATHS = [
  'hesCode',
  'hes_code',
  'code_plain',
  'password',
  'apiKey',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.hesCode',
  '*.hes_code',
  '*.password',
  '*.apiKey',
  '*.authorization',
  '*.*.hesCode',
  '*.*.hes_code',
  'items[*].hesCode',
  '*.items[*].hesCode',
  'body',
  'req.body',
];

export interface LoggerSettings {
  name: string;
  level?: string;
  /** Human-readable lines (pnpm dev); JSON otherwise. */
  pretty?: boolean;
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

export function loggerOptions(settings: Omit<LoggerSettings, 'destination'>): LoggerOptions {
  return {
    name: settings.name,
    level: settings.level ?? 'info',
    base: { service: settings.name, ...settings.base },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    ...(settings.pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
          },
        }
      : {}),
  };
}

export function createLogger(settings: LoggerSettings): Logger {
  const options = loggerOptions(settings);
  return settings.destination && !settings.pretty ? pino(options, settings.destination) : pino(options);
}

export type { Logger };
