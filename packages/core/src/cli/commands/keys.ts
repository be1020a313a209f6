import { InvalidScopeError, parseScopes, SCOPES } from '../../auth/api-keys.js';
import { type ApiKeyView, createApiKey, listApiKeys, revokeApiKey } from '../../auth/api-keys-repository.js';
import type { PrismaClient } from '../../db/prisma.js';
import { type CliIo, databaseUrlFrom, EXIT_OK, UsageError } from '../io.js';
import { parseCommand } from '../parse.js';
import { formatTable } from '../table.js';

export const KEYS_USAGE = `Usage: hes keys <command>

Commands:
  create --name <name> --scopes <a,b>   create a key; prints it alone on the last line, once
  list [--json]                         list keys (never the key itself)
  revoke <id|prefix>                    revoke a key

Scopes: ${SCOPES.join(', ')}
Environment: DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/hes_gateway)`;

const CREATE_USAGE = `Usage: hes keys create --name <name> --scopes <a,b>

Creates an API key and prints it alone on the last line of stdout; only its hash is stored, so it
cannot be shown again. Scopes: ${SCOPES.join(', ')}.
  KEY=$(pnpm -s hes keys create --name turnstiles --scopes checks:write,checks:read | tail -1)`;

const LIST_USAGE = `Usage: hes keys list [--json]

Lists API keys: id, name, prefix, scopes, created, last used, revoked (UTC).`;

const REVOKE_USAGE = `Usage: hes keys revoke <id|prefix>

Revokes the key with that id or prefix (as shown by "hes keys list"). Repeating it is harmless.`;

export async function runKeys(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'create':
      return create(rest, io);
    case 'list':
      return list(rest, io);
    case 'revoke':
      return revoke(rest, io);
    case '--help':
    case '-h':
    case 'help':
      io.stdout(KEYS_USAGE);
      return EXIT_OK;
    case undefined:
      throw new UsageError('Missing command', KEYS_USAGE);
    default:
      throw new UsageError(`Unknown command "keys ${sub}"`, KEYS_USAGE);
  }
}

async function withPrisma<T>(io: CliIo, fn: (prisma: PrismaClient) => Promise<T>): Promise<T> {
  // Loaded on demand: the generated client is most of the CLI's start-up time, and --help needs none of it.
  const { createPrisma } = await import('../../db/prisma.js');
  const prisma = createPrisma(databaseUrlFrom(io.env), { max: 1, applicationName: 'hes-cli' });
  try {
    return await fn(prisma);
  } finally {
    await prisma.$disconnect();
  }
}

async function create(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, { name: { type: 'string' }, scopes: { type: 'string' } }, CREATE_USAGE);
  if (args.help) {
    io.stdout(CREATE_USAGE);
    return EXIT_OK;
  }
  const { name, scopes: csv } = args.values;
  if (typeof name !== 'string' || name.trim() === '')
    throw new UsageError('--name is required', CREATE_USAGE);
  if (typeof csv !== 'string') throw new UsageError('--scopes is required', CREATE_USAGE);
  let scopes: ReturnType<typeof parseScopes>;
  try {
    scopes = parseScopes(csv);
  } catch (err) {
    if (err instanceof InvalidScopeError) throw new UsageError(err.message, CREATE_USAGE);
    throw err;
  }
  const created = await withPrisma(io, (prisma) => createApiKey(prisma, { name, scopes }));
  io.stdout(`Created API key "${created.name}" (id ${created.id}, scopes ${created.scopes.join(',')}).`);
  io.stdout('Store it now; it cannot be shown again:');
  // Scripts take the last line (SPEC §8): nothing may follow the key.
  io.stdout(created.key);
  return EXIT_OK;
}

const at = (d: Date | null): string => (d ? `${d.toISOString().slice(0, 19)}Z` : '-');

async function list(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, { json: { type: 'boolean' } }, LIST_USAGE);
  if (args.help) {
    io.stdout(LIST_USAGE);
    return EXIT_OK;
  }
  const keys = await withPrisma(io, listApiKeys);
  if (args.values.json) {
    io.stdout(JSON.stringify(keys, null, 2));
    return EXIT_OK;
  }
  if (keys.length === 0) {
    io.stdout('No API keys. Create one: hes keys create --name <name> --scopes <a,b>');
    return EXIT_OK;
  }
  const rows = keys.map((k: ApiKeyView) => [
    k.id,
    k.name,
    k.prefix,
    k.scopes.join(','),
    at(k.createdAt),
    at(k.lastUsedAt),
    at(k.revokedAt),
  ]);
  for (const line of formatTable(
    ['ID', 'NAME', 'PREFIX', 'SCOPES', 'CREATED', 'LAST USED', 'REVOKED'],
    rows,
  )) {
    io.stdout(line);
  }
  return EXIT_OK;
}

async function revoke(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, {}, REVOKE_USAGE, 1);
  if (args.help) {
    io.stdout(REVOKE_USAGE);
    return EXIT_OK;
  }
  const [needle] = args.positionals;
  if (!needle) throw new UsageError('Which key? Give its id or prefix', REVOKE_USAGE);
  const { key, alreadyRevoked } = await withPrisma(io, (prisma) => revokeApiKey(prisma, needle));
  io.stdout(
    alreadyRevoked
      ? `API key "${key.name}" (id ${key.id}) was already revoked at ${at(key.revokedAt)}.`
      : `Revoked API key "${key.name}" (id ${key.id}, prefix ${key.prefix}).`,
  );
  return EXIT_OK;
}
