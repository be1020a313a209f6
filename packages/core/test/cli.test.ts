import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey, looksLikeApiKey } from '../src/auth/api-keys.js';
import { findActiveKeyByHash } from '../src/auth/api-keys-repository.js';
import type { CliIo } from '../src/cli/io.js';
import { runHes } from '../src/cli/program.js';
import { withDatabase } from '../src/db/database-url.js';
import {
  createTestDatabase,
  dropTestDatabase,
  type TestDatabase,
  testServerUrl,
  uniqueDatabaseName,
} from '../src/testing/index.js';
import { runCliProcess } from '../src/testing/run-cli-process.js';

// Each spawn starts tsx and the Prisma client: seconds on a loaded machine.
const SPAWN_TIMEOUT = 90_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: string[];
}

const run = (entry: 'hes' | 'migrate', args: string[], env: Record<string, string>): Promise<Run> =>
  runCliProcess(entry, args, env);

/** runHes in-process, for the argument handling that needs no database. */
async function runInProcess(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env };
  const code = await runHes(argv, io);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('hes CLI, end to end', { timeout: SPAWN_TIMEOUT }, () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('cli');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('keys create prints the key alone on the last line; only its hash is stored; list and revoke work', async () => {
    const env = { DATABASE_URL: db.url };
    const created = await run('hes', ['keys', 'create', '--name', 'x', '--scopes', 'checks:write'], env);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const key = created.lines.at(-1)!;
    expect(looksLikeApiKey(key)).toBe(true);
    expect(created.lines.length).toBeGreaterThan(1);
    expect(created.lines.slice(0, -1).join('\n')).not.toContain(key);

    const found = await findActiveKeyByHash(db.prisma, hashApiKey(key));
    expect(found).toMatchObject({ name: 'x', scopes: ['checks:write'], prefix: key.slice(0, 12) });
    expect(created.stdout).toContain(found!.id);
    expect(created.stdout).toContain('checks:write');

    const listed = await run('hes', ['keys', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.lines[0]).toMatch(/^ID\s+NAME\s+PREFIX\s+SCOPES\s+CREATED\s+LAST USED\s+REVOKED$/);
    const row = listed.lines.find((l) => l.startsWith(found!.id));
    expect(row).toMatch(
      new RegExp(`^${found!.id}\\s+x\\s+${key.slice(0, 12)}\\s+checks:write\\s+\\S+Z\\s+-\\s+-$`),
    );
    expect(listed.stdout).not.toContain(key);

    const revoked = await run('hes', ['keys', 'revoke', key.slice(0, 12)], env);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(found!.id);
    expect(await findActiveKeyByHash(db.prisma, hashApiKey(key))).toBeNull();
    const stored = await db.prisma.apiKey.findUniqueOrThrow({ where: { id: found!.id } });
    expect(stored.revokedAt).toBeInstanceOf(Date);
  });

  it('keys revoke of an unknown key fails with exit code 1 and one line', async () => {
    const result = await run('hes', ['keys', 'revoke', 'hes_unknown0'], { DATABASE_URL: db.url });
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('hes_unknown0');
  });

  it('rejects an unknown scope as a usage error naming it, creating nothing', async () => {
    const before = await db.prisma.apiKey.count();
    const result = await run('hes', ['keys', 'create', '--name', 'y', '--scopes', 'checks:write,root'], {
      DATABASE_URL: db.url,
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('"root"');
    expect(result.stderr).toContain('Usage: hes keys create');
    expect(await db.prisma.apiKey.count()).toBe(before);
  });
});

describe('migrate entry points', { timeout: SPAWN_TIMEOUT }, () => {
  const names: string[] = [];
  afterAll(async () => {
    await Promise.all(names.map((n) => dropTestDatabase(n)));
  });

  it('pnpm migrate creates and migrates a missing database, then reports it up to date', async () => {
    const name = uniqueDatabaseName('cli-migrate');
    names.push(name);
    const env = { DATABASE_URL: withDatabase(testServerUrl(), name) };

    const first = await run('migrate', [], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`creating database ${name}`);
    expect(first.stdout).toMatch(/applied 20\d{12}_init/);

    const second = await run('hes', ['migrate'], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/up to date/);

    const client = new pg.Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT count(*)::int AS n FROM "_prisma_migrations"');
      expect(rows[0].n).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
  });

  it('fails with exit code 1 and one line, without the password, when the server is unreachable', async () => {
    const result = await run('migrate', [], {
      DATABASE_URL: 'postgresql://postgres:s3cret@127.0.0.1:1/nowhere',
    });
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('ECONNREFUSED');
    expect(result.stderr).not.toContain('s3cret');
  });
});

describe('hes argument handling', () => {
  it('prints usage on stderr and exits 2 for unknown commands and flags', async () => {
    for (const argv of [
      [],
      ['frobnicate'],
      ['--verbose'],
      ['keys'],
      ['keys', 'rotate'],
      ['keys', 'list', '--bogus'],
    ]) {
      const result = await runInProcess(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('Usage: hes');
    }
    const flag = await runInProcess(['keys', 'create', '--name', 'a', '--scopes', 'admin', '--force']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--force');
  });

  it('requires --name, --scopes and a revoke target', async () => {
    expect((await runInProcess(['keys', 'create', '--scopes', 'admin'])).stderr).toContain(
      '--name is required',
    );
    expect((await runInProcess(['keys', 'create', '--name', 'a'])).stderr).toContain('--scopes is required');
    expect((await runInProcess(['keys', 'revoke'])).code).toBe(2);
    expect((await runInProcess(['keys', 'revoke', 'a', 'b'])).code).toBe(2);
  });

  it('answers --help for every command on stdout with exit 0', async () => {
    for (const argv of [
      ['--help'],
      ['keys', '--help'],
      ['keys', 'create', '--help'],
      ['keys', 'list', '-h'],
      ['keys', 'revoke', '--help'],
      ['migrate', '--help'],
    ]) {
      const result = await runInProcess(argv);
      expect(result.code, argv.join(' ')).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^Usage: hes/);
    }
  });

  it('reports a database that is not migrated with a hint', async () => {
    const result = await runInProcess(['keys', 'list'], {
      DATABASE_URL: withDatabase(testServerUrl(), uniqueDatabaseName('never-created')),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('pnpm migrate');
    expect(result.stderr.split('\n')).toHaveLength(1);
  });
});
