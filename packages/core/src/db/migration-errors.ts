export type MigrationErrorCode =
  | 'DATABASE_URL_INVALID'
  | 'MIGRATIONS_DIR_NOT_FOUND'
  | 'MIGRATION_FILE_MISSING'
  | 'MIGRATION_CHECKSUM_MISMATCH'
  | 'MIGRATION_UNFINISHED'
  | 'MIGRATION_FAILED';

/** Every failure of the migrator; branch on `code`, the message is for people. */
export class MigrationError extends Error {
  readonly code: MigrationErrorCode;
  /** The migration concerned, when there is one. */
  readonly migration: string | undefined;

  constructor(
    code: MigrationErrorCode,
    message: string,
    options: { migration?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MigrationError';
    this.code = code;
    this.migration = options.migration;
  }
}
