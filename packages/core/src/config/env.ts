import { z } from 'zod';

/** Thrown at start when the environment is invalid; the message names the variable (SPEC §7). */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/hes_gateway';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const SANDBOX_DEFAULT_USERNAME = 'hes-sandbox';
export const SANDBOX_DEFAULT_PASSWORD = 'hes-sandbox-secret';
export const SANDBOX_DEFAULT_PORT = 4010;
export const sandboxBaseUrl = (port: number = SANDBOX_DEFAULT_PORT): string =>
  `http://127.0.0.1:${port}/services/g2g/test/saglik/hes/`;

/** Empty strings count as unset: compose files and shells often export `VAR=`. */
export const optionalString = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());
export const int = (def: number, min: number, max: number) =>
  z.preprocess((v) => (v === '' || v === undefined ? def : v), z.coerce.number().int().min(min).max(max));
export const num = (def: number, min: number, max: number) =>
  z.preprocess((v) => (v === '' || v === undefined ? def : v), z.coerce.number().min(min).max(max));
export const optionalNum = (min: number, max: number) =>
  z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().min(min).max(max).optional());
export const url = (def: string | undefined) =>
  z.preprocess((v) => (v === '' || v === undefined ? def : v), z.string().url());

/** Parses `env` with `schema` once at boot; the first problem becomes one clear message. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const name = issue.path.length > 0 ? issue.path.join('.') : 'environment';
  throw new ConfigError(`Invalid configuration: ${name}: ${issue.message}`);
}
