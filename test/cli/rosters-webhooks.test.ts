import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookReceiver } from '../../services/worker/test/webhook-receiver.js';
import { type Stack, startStack, waitFor } from '../support/stack.js';
import { runInProcess } from './run-cli.js';

/** `hes rosters …` and `hes webhooks …` against the real API over HTTP, with a worker and the sandbox. */
let stack: Stack;
let receiver: WebhookReceiver;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  stack = await startStack('cli-rosters', {
    env: { WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_POLL_INTERVAL_MS: '200', HES_RATE_LIMIT_RPS: '50' },
  });
  env = { HES_API_URL: await stack.listen(), HES_API_KEY: stack.key };
  await stack.startWorker();
  dir = await mkdtemp(join(tmpdir(), 'hes-cli-rosters-'));
  await writeFile(
    join(dir, 'night.csv'),
    'hesCode,reference\nA100000001,n-1\nRISK000002,n-2\nNOPE000003,n-3\nB100000004,n-4\nbad,n-5\n',
  );
  await writeFile(
    join(dir, 'night.json'),
    JSON.stringify({
      items: [
        { hesCode: 'C100000001', reference: 'j-1' },
        { hesCode: 'EXPD000002', reference: 'j-2' },
      ],
    }),
  );
});

afterAll(async () => {
  await stack?.close();
  await receiver?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const hes = (...argv: string[]) => runInProcess(argv, { env });
const field = (stdout: string, name: string) => new RegExp(`^${name}\\s+(.*)$`, 'm').exec(stdout)?.[1];

describe('hes rosters', { timeout: 60_000 }, () => {
  it('create with a schedule and a file, list, show, upload, reschedule, run --wait, history, delete', async () => {
    const created = await hes(
      'rosters',
      'create',
      '--name',
      'Night shift',
      '--kind',
      'standard',
      '--cron',
      '30 21 * * *',
      '--tz',
      'Europe/Istanbul',
      '--file',
      join(dir, 'night.csv'),
    );
    expect(created.code, created.stderr).toBe(0);
    const id = created.lines.at(-1)!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(field(created.stdout, 'people')).toBe('5');
    expect(field(created.stdout, 'schedule')).toBe('30 21 * * * (Europe/Istanbul)');
    expect(field(created.stdout, 'next run')).toMatch(/^\d{4}-\d\d-\d\dT18:30:00Z$/); // 21:30 in Istanbul (UTC+3)

    const listed = await hes('rosters', 'list');
    expect(listed.lines[0]).toMatch(/^ID\s+NAME\s+KIND\s+PEOPLE\s+SCHEDULE\s+NEXT RUN\s+LAST RUN$/);
    expect(listed.lines.find((l) => l.startsWith(id))).toMatch(
      /Night shift\s+standard\s+5\s+30 21 \* \* \* \(Europe\/Istanbul\)/,
    );

    const uploaded = await hes('rosters', 'upload', id, join(dir, 'night.json'));
    expect(uploaded.stdout).toBe('Roster "Night shift" now has 2 people.\n');
    const unscheduled = await hes('rosters', 'unschedule', id);
    expect(unscheduled.code).toBe(0);
    expect(field((await hes('rosters', 'show', id)).stdout, 'schedule')).toBe('-');
    const rescheduled = await hes('rosters', 'schedule', id, '--cron', '0 6 * * 1-5', '--tz', 'UTC');
    expect(rescheduled.stdout).toMatch(
      /^Roster "Night shift" runs on "0 6 \* \* 1-5" \(UTC\); next run \d{4}-\d\d-\d\dT06:00:00Z\.$/m,
    );

    const run = await hes('rosters', 'run', id, '--wait');
    expect(run.code, run.stderr).toBe(0);
    const batchId = run.lines.at(-1)!;
    expect(run.stdout).toMatch(/^outcome\s+RISKLESS\s+1$/m);
    expect(run.stdout).toMatch(/^outcome\s+EXPIRED\s+1$/m);
    expect(run.stderr).toContain(`Started batch ${batchId}: 2 checks (standard).`);

    const history = await hes('rosters', 'history', id);
    expect(history.lines.find((l) => l.startsWith(batchId))).toMatch(
      /\sstandard\s+completed\s+2 \(100%\)\s+2\s/,
    );

    const deleted = await hes('rosters', 'delete', id);
    expect(deleted.code).toBe(0);
    const gone = await hes('rosters', 'show', id);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('hes: ROSTER_NOT_FOUND (404): No such roster\n');
  });

  it('usage errors exit 2 and API refusals exit 1 with the problem code', async () => {
    for (const argv of [
      ['rosters'],
      ['rosters', 'frob'],
      ['rosters', 'create'],
      ['rosters', 'create', '--name', 'x', '--tz', 'UTC'],
      ['rosters', 'create', '--name', 'x', '--kind', 'vip'],
      ['rosters', 'upload', 'only-id'],
      ['rosters', 'schedule', 'some-id'],
      ['webhooks', 'create'],
      ['webhooks', 'create', '--url', 'http://x', '--events', 'check.completed,nope'],
      ['webhooks', 'ping'],
    ]) {
      const run = await hes(...argv);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stderr).toContain(`Usage: hes ${argv[0]}`);
    }
    const badCron = await hes('rosters', 'create', '--name', 'Bad cron', '--cron', 'every day');
    expect(badCron.code).toBe(1);
    expect(badCron.stderr).toMatch(/^hes: [A-Z_]+ \(400\): .+\n$/);
    for (const argv of [
      ['rosters', '--help'],
      ['rosters', 'create', '--help'],
      ['webhooks', '--help'],
      ['webhooks', 'deliveries', '-h'],
    ]) {
      const run = await hes(...argv);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Usage: hes (rosters|webhooks)/);
    }
  });
});

describe('hes webhooks', { timeout: 60_000 }, () => {
  it('create prints the secret once, list, ping reaches the receiver, deliveries show attempts, delete', async () => {
    const created = await hes(
      'webhooks',
      'create',
      '--url',
      receiver.url('/hes'),
      '--events',
      'check.completed',
    );
    expect(created.code, created.stderr).toBe(0);
    const secret = created.lines.at(-1)!;
    expect(secret).toMatch(/^whsec_/);
    expect(created.stderr).toContain('shown only this once');
    const id = /Created webhook ([0-9a-f-]{36})/.exec(created.stdout)![1]!;

    const listed = await hes('webhooks', 'list');
    expect(listed.lines.find((l) => l.startsWith(id))).toMatch(/\/hes\s+check\.completed\s+-\s+yes\s/);
    expect(listed.stdout).not.toContain(secret);

    const ping = await hes('webhooks', 'ping', id);
    expect(ping.stdout).toMatch(/^Ping queued as delivery [0-9a-f-]{36} \(pending\)/);
    await waitFor(() => receiver.received.some((r) => r.path === '/hes'), { timeoutMs: 20_000 });
    let deliveries = await hes('webhooks', 'deliveries', id);
    await waitFor(
      async () => {
        deliveries = await hes('webhooks', 'deliveries', id);
        return /\sping\s+delivered\s+1\s/.test(deliveries.stdout);
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(deliveries.lines[0]).toMatch(/^DELIVERY\s+EVENT\s+STATUS\s+ATTEMPTS\s+CREATED\s+DELIVERED/);
    expect(deliveries.stdout).toMatch(/^ {4}attempt 1 {2}\S+Z {2}HTTP 200 {2}\d+ ms$/m);

    const deleted = await hes('webhooks', 'delete', id);
    expect(deleted.code).toBe(0);
    expect((await hes('webhooks', 'list')).stdout).not.toContain(id);
  });
});
