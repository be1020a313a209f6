import { createHash } from 'node:crypto';
import { type Dirent, existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MigrationError } from './migration-errors.js';

export interface MigrationFile {
  /** Folder name, e.g. `20261125000000_init`; migrations apply in this order. */
  name: string;
  path: string;
  sql: string;
  /** SHA-256 (hex) of the file's bytes, as Prisma records it in `_prisma_migrations.checksum`. */
  checksum: string;
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/**
 * `prisma/migrations` of the repository holding this file. Walks up rather than counting `..` so the
 * same code works from `src/db` under tsx and from `dist/db` after a build.
 */
export function defaultMigrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'prisma', 'migrations');
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new MigrationError(
        'MIGRATIONS_DIR_NOT_FOUND',
        `No prisma/migrations folder above ${dirname(fileURLToPath(import.meta.url))}`,
      );
    }
    dir = parent;
  }
}

/** Every `<name>/migration.sql` under `dir`, in name order. */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new MigrationError('MIGRATIONS_DIR_NOT_FOUND', `Cannot read migrations folder ${dir}`, {
      cause: err,
    });
  }
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files: MigrationFile[] = [];
  for (const name of names) {
    const path = join(dir, name, 'migration.sql');
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      // A folder without its script is a half-authored migration; skipping it would reorder history.
      throw new MigrationError('MIGRATION_FILE_MISSING', `Migration ${name} has no migration.sql (${path})`, {
        migration: name,
        cause: err,
      });
    }
    files.push({ name, path, sql: bytes.toString('utf8'), checksum: sha256(bytes) });
  }
  return files;
}

/**
 * Whether a recorded checksum still describes `file`. A checkout with other line endings (git autocrlf)
 * is the same migration, so both spellings are accepted.
 */
export function checksumMatches(file: MigrationFile, recorded: string): boolean {
  if (recorded === file.checksum) return true;
  const lf = file.sql.replace(/\r\n/g, '\n');
  return recorded === sha256(lf) || recorded === sha256(lf.replace(/\n/g, '\r\n'));
}

/** One hash over names and checksums: changes whenever a migration is added, removed or edited. */
export function migrationsFingerprint(files: readonly MigrationFile[]): string {
  return sha256(files.map((f) => `${f.name}:${f.checksum}`).join('\n'));
}
