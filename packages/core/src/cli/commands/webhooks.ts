import { WEBHOOK_EVENTS } from '../../webhooks/events.js';
import { ApiClient } from '../api/client.js';
import { API_ENV_HELP, apiTarget } from '../api/options.js';
import { type CliIo, EXIT_OK, UsageError } from '../io.js';
import { at, help, parsed, runGroup } from '../subcommands.js';
import { formatTable } from '../table.js';

interface Webhook {
  id: string;
  url: string;
  events: string[];
  rosterId: string | null;
  enabled: boolean;
  createdAt: string;
  disabledAt: string | null;
}

interface Attempt {
  attempt: number;
  at: string;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

interface Delivery {
  id: string;
  event: string;
  subjectId: string;
  status: 'pending' | 'delivered' | 'failed';
  attemptCount: number;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
  attempts: Attempt[];
}

export const WEBHOOKS_USAGE = `Usage: hes webhooks <command>

Webhooks: the gateway POSTs signed events (${WEBHOOK_EVENTS.join(', ')}) to your receiver.

Commands:
  list                                            the webhooks of this key (an admin key sees all)
  create --url <url> [--roster <id>] [--events <a,b>]
                                                  register one; prints its signing secret once
  deliveries <id> [--status <s>] [--limit <n>]    recent deliveries, each with its attempts
  ping <id>                                       send a signed ping to test the receiver
  rotate-secret <id>                              replace the signing secret (printed once)
  redeliver <id> <deliveryId>                     send a delivery again
  delete <id>                                     delete it and its delivery log

${API_ENV_HELP}

Example:
  pnpm -s hes webhooks create --url https://turnstiles.example.org/hes --events check.completed`;

const sub = (usage: string) => `${usage}\n\n${API_ENV_HELP}`;
const LIST_USAGE = sub('Usage: hes webhooks list [--json]');
const CREATE_USAGE = sub(`Usage: hes webhooks create --url <url> [--roster <rosterId>] [--events <a,b>]

Events: ${WEBHOOK_EVENTS.join(', ')} (default all). With --roster, the events of that roster's runs;
without, those of checks submitted with this key. The signing secret is printed once, on the last
line: store it now (verify X-Hes-Signature with it).`);
const DELIVERIES_USAGE = sub(
  'Usage: hes webhooks deliveries <id> [--status pending|delivered|failed] [--limit <n>]',
);
const PING_USAGE = sub('Usage: hes webhooks ping <id>');
const ROTATE_USAGE = sub(
  'Usage: hes webhooks rotate-secret <id>\n\nThe new secret is printed once, on the last line.',
);
const REDELIVER_USAGE = sub('Usage: hes webhooks redeliver <id> <deliveryId>');
const DELETE_USAGE = sub('Usage: hes webhooks delete <id>');

const WHICH = 'Which webhook? Give its id';
const hookPath = (id: string) => `/v1/webhooks/${encodeURIComponent(id)}`;

/** The secret alone on the last line (scripts take it with tail -1); the warning on stderr. */
function printSecret(io: CliIo, secret: string) {
  io.stderr('Store this signing secret now: it is shown only this once and cannot be read back.');
  io.stdout(secret);
}

async function list(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsed(argv, { json: { type: 'boolean' } }, LIST_USAGE, 0);
  if (args.help) return help(io, LIST_USAGE);
  const client = new ApiClient(apiTarget(args.values, io, LIST_USAGE));
  const { items } = await client.get<{ items: Webhook[] }>('/v1/webhooks');
  if (args.values.json) io.stdout(JSON.stringify(items, null, 2));
  else if (items.length === 0) io.stdout('No webhooks. Create one: hes webhooks create --url <url>');
  else
    for (const line of formatTable(
      ['ID', 'URL', 'EVENTS', 'ROSTER', 'ENABLED', 'CREATED'],
      items.map((w) => [
        w.id,
        w.url,
        w.events.join(','),
        w.rosterId ?? '-',
        w.enabled ? 'yes' : `no (${at(w.disabledAt)})`,
        at(w.createdAt),
      ]),
    ))
      io.stdout(line);
  return EXIT_OK;
}

async function create(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsed(
    argv,
    { url: { type: 'string' }, roster: { type: 'string' }, events: { type: 'string' } },
    CREATE_USAGE,
    0,
  );
  if (args.help) return help(io, CREATE_USAGE);
  const { url, roster, events } = args.values;
  if (typeof url !== 'string' || url === '') throw new UsageError('--url is required', CREATE_USAGE);
  let eventList: string[] | undefined;
  if (typeof events === 'string') {
    eventList = events
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '');
    const unknown = eventList.find((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
    if (unknown !== undefined || eventList.length === 0)
      throw new UsageError(
        `--events takes ${WEBHOOK_EVENTS.join(', ')}${unknown ? ` (not "${unknown}")` : ''}`,
        CREATE_USAGE,
      );
  }
  const client = new ApiClient(apiTarget(args.values, io, CREATE_USAGE));
  const hook = await client.json<Webhook & { secret: string }>('POST', '/v1/webhooks', {
    json: {
      url,
      ...(eventList ? { events: eventList } : {}),
      ...(typeof roster === 'string' ? { rosterId: roster } : {}),
    },
  });
  io.stdout(
    `Created webhook ${hook.id} → ${hook.url} (${hook.events.join(', ')}${hook.rosterId ? `, roster ${hook.rosterId}` : ''}).`,
  );
  printSecret(io, hook.secret);
  return EXIT_OK;
}

const resultOf = (a: Attempt) => a.error ?? (a.statusCode !== null ? `HTTP ${a.statusCode}` : '-');

async function deliveries(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsed(
    argv,
    { status: { type: 'string' }, limit: { type: 'string' } },
    DELIVERIES_USAGE,
    1,
    WHICH,
  );
  if (args.help) return help(io, DELIVERIES_USAGE);
  const { status } = args.values;
  if (status !== undefined && !['pending', 'delivered', 'failed'].includes(status as string))
    throw new UsageError('--status must be pending, delivered or failed', DELIVERIES_USAGE);
  const limit = args.values.limit === undefined ? 20 : Number(args.values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    throw new UsageError('--limit must be an integer from 1 to 500', DELIVERIES_USAGE);
  const client = new ApiClient(apiTarget(args.values, io, DELIVERIES_USAGE));
  const page = await client.get<{ items: Delivery[] }>(`${hookPath(args.positionals[0]!)}/deliveries`, {
    limit,
    status: status as string | undefined,
  });
  if (page.items.length === 0) {
    io.stdout('No deliveries yet. Send one: hes webhooks ping <id>');
    return EXIT_OK;
  }
  const [header, ...rows] = formatTable(
    ['DELIVERY', 'EVENT', 'STATUS', 'ATTEMPTS', 'CREATED', 'DELIVERED', 'NEXT ATTEMPT'],
    page.items.map((d) => [
      d.id,
      d.event,
      d.status,
      String(d.attemptCount),
      at(d.createdAt),
      at(d.deliveredAt),
      at(d.nextAttemptAt),
    ]),
  );
  io.stdout(header!);
  // Each delivery's attempts right under it, indented.
  page.items.forEach((d, i) => {
    io.stdout(rows[i]!);
    for (const a of d.attempts)
      io.stdout(`    attempt ${a.attempt}  ${at(a.at)}  ${resultOf(a)}  ${a.durationMs} ms`);
  });
  return EXIT_OK;
}

async function ping(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsed(argv, {}, PING_USAGE, 1, WHICH);
  if (args.help) return help(io, PING_USAGE);
  const client = new ApiClient(apiTarget(args.values, io, PING_USAGE));
  const id = args.positionals[0]!;
  const d = await client.json<Delivery>('POST', `${hookPath(id)}/ping`);
  io.stdout(`Ping queued as delivery ${d.id} (${d.status}); see: hes webhooks deliveries ${id}`);
  return EXIT_OK;
}

async function rotate(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsed(argv, {}, ROTATE_USAGE, 1, WHICH);
  if (args.help) return help(io, ROTATE_USAGE);
  const client = new ApiClient(apiTarget(args.values, io, ROTATE_USAGE));
  const hook = await client.json<Webhook & { secret: string }>(
    'POST',
    `${hookPath(args.positionals[0]!)}/rotate-secret`,
  );
  io.stdout(`New signing secret for webhook ${hook.id}; the old one no longer verifies.`);
  printSecret(io, hook.secret);
  return EXIT_OK;
}

async function redeliver(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsed(argv, {}, REDELIVER_USAGE, 2, 'Give the webhook id and the delivery id');
  if (args.help) return help(io, REDELIVER_USAGE);
  const [id, deliveryId] = args.positionals as [string, string];
  const client = new ApiClient(apiTarget(args.values, io, REDELIVER_USAGE));
  const d = await client.json<Delivery>(
    'POST',
    `${hookPath(id)}/deliveries/${encodeURIComponent(deliveryId)}/redeliver`,
  );
  io.stdout(`Delivery ${d.id} queued again (${d.status}).`);
  return EXIT_OK;
}

async function remove(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsed(argv, {}, DELETE_USAGE, 1, WHICH);
  if (args.help) return help(io, DELETE_USAGE);
  const client = new ApiClient(apiTarget(args.values, io, DELETE_USAGE));
  await client.request('DELETE', hookPath(args.positionals[0]!));
  io.stdout(`Deleted webhook ${args.positionals[0]} and its delivery log.`);
  return EXIT_OK;
}

export const runWebhooks = runGroup('webhooks', WEBHOOKS_USAGE, {
  list,
  create,
  deliveries,
  ping,
  'rotate-secret': rotate,
  redeliver,
  delete: remove,
});
