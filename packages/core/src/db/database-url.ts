import { MigrationError } from './migration-errors.js';

function parse(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new MigrationError('DATABASE_URL_INVALID', `Not a PostgreSQL URL: ${redactUrl(url)}`);
  }
}

/** The database a `postgresql://…/<name>` URL names. */
export function databaseNameOf(url: string): string {
  const name = decodeURIComponent(parse(url).pathname.replace(/^\//, ''));
  if (name === '') {
    throw new MigrationError('DATABASE_URL_INVALID', `The URL names no database: ${redactUrl(url)}`);
  }
  return name;
}

/** The same server, user and parameters, another database. */
export function withDatabase(url: string, database: string): string {
  const u = parse(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** The URL with its password masked, fit for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '<unparsable database URL>';
  }
}

/** A PostgreSQL identifier, quoted: database names come from configuration and tests, not from code. */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new MigrationError('DATABASE_URL_INVALID', 'Identifier contains NUL');
  return `"${name.replaceAll('"', '""')}"`;
}

/** A PostgreSQL string literal, for the few statements that take no parameters (COMMENT ON). */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new MigrationError('DATABASE_URL_INVALID', 'Literal contains NUL');
  return `'${value.replaceAll("'", "''")}'`;
}

/** SQLSTATE of a node-postgres error, if any. */
export function pgErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
