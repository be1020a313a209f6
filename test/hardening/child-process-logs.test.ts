/**
 * Issue 6 §3: the privacy audit of what child processes print. The API and two workers run as their own
 * processes (started as production starts them, environment only, LOG_LEVEL=debug: what an operator
 * turns on during an incident), their stdout and stderr are captured line by line, and after a mixed
 * workload — every kind, both code spellings, waits, rosters in JSON and CSV with malformed rows, bad
 * requests that carry codes in the body, the URL and a broken JSON document, a graceful worker
 * shutdown — no submitted code appears in any line. The capture itself is checked: every process must
 * have written lines, the API one per request.
 */
import type { ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leakedCodes, type Stack, startStack, waitFor } from '../support/stack.js';

const ALPHABET = 'ABCDEFGHJKLMNPRSTUVYZ0123456789';
const randomCode = () => Array.from({ length: 10 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
const dashed = (c: string) => `${c.slice(0, 4)}-${c.slice(4, 8)}-${c.slice(8)}`;

let stack: Stack;
let apiUrl: string;
let api: ChildProcess;
const workers: ChildProcess[] = [];
const codes: string[] = [];
const code = () => {
  const c = randomCode();
  codes.push(c);
  return c;
};
/** Each process's own output, counted apart from the shared `stack.logs` to prove every one is captured. */
const own = new Map<ChildProcess, string[]>();
const watch = (child: ChildProcess) => {
  const lines: string[] = [];
  own.set(child, lines);
  for (const stream of [child.stdout, child.stderr])
    stream?.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  return child;
};
const linesOf = (child: ChildProcess) => own.get(child) ?? [];

beforeAll(async () => {
  stack = await startStack('child-logs', { env: { LOG_LEVEL: 'debug', LOG_PRETTY: 'false' } });
  ({ child: api, url: apiUrl } = await stack.spawnApi());
  watch(api);
  workers.push(watch(stack.spawnWorker()), watch(stack.spawnWorker({ WORKER_CONCURRENCY: '2' })));
  await waitFor(() => workers.every((w) => linesOf(w).some((l) => l.includes('"worker started"'))), {
    timeoutMs: 60_000,
    message: 'both worker processes started',
  }).catch((err) => {
    throw new Error(`${(err as Error).message}\n${stack.logs.slice(-20).join('\n')}`);
  });
}, 120_000);
afterAll(() => stack?.close(), 60_000);

async function send(method: string, path: string, body?: string, type = 'application/json') {
  const res = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { ...stack.headers, ...(body !== undefined ? { 'content-type': type } : {}) },
    ...(body !== undefined ? { body } : {}),
  });
  return { status: res.status, body: await res.text() };
}

describe('child-process logs', () => {
  it('carry no submitted HES code, from the API process or any worker process', async () => {
    const singles: string[] = [];
    for (const [i, kind] of (['standard', 'employee', 'visitor', 'plus'] as const).entries()) {
      const c = code();
      const res = await send(
        'POST',
        `/v1/checks${i % 2 ? '?wait=5000' : ''}`,
        JSON.stringify({
          hesCode: i % 2 ? dashed(c) : c,
          kind,
          identityLast3: '792',
          ...(kind === 'visitor' ? { visit: { city: 'Ankara', district: 'Çankaya', address: 'X 1' } } : {}),
        }),
      );
      expect([200, 202], res.body).toContain(res.status);
      singles.push((JSON.parse(res.body) as { id: string }).id);
    }
    const json = await send(
      'POST',
      '/v1/batches',
      JSON.stringify({
        kind: 'standard',
        items: [...Array.from({ length: 30 }, () => ({ hesCode: code() })), { hesCode: `${code()}X` }],
      }),
    );
    expect(json.status, json.body).toBe(202);
    const csvRows = Array.from({ length: 20 }, (_, i) => `${i % 2 ? dashed(code()) : code()},emp-${i},123`);
    const csv = await send(
      'POST',
      '/v1/batches?kind=standard',
      `hesCode,reference,identityLast3\n${csvRows.join('\n')}\n${code()}Z,emp-x,123\n`,
      'text/csv',
    );
    expect(csv.status, csv.body).toBe(202);

    // Refused requests that carry codes where they do not belong.
    const refused = [
      await send('POST', '/v1/checks', JSON.stringify({ hesCode: code(), kind: 'nonsense' })),
      await send('POST', '/v1/checks', JSON.stringify({ hesCode: code(), extra: code() })),
      await send('POST', '/v1/checks', `{"hesCode":"${code()}", "kind": `),
      await send('POST', '/v1/checks', JSON.stringify({ hesCode: `${code()}${code()}` })),
      await send('GET', `/v1/checks/${code()}`),
      await send(
        'POST',
        '/v1/batches?kind=standard',
        `hesCode,reference,identityLast3\n${code()},${code()},1234\n`,
        'text/csv',
      ),
      await send('POST', '/v1/batches?kind=standard', `hesCode\n${code()}\nbroken,"${code()}\n`, 'text/csv'),
      await send('GET', `/v1/checks?reference=${code()}`),
      await send('POST', `/v1/checks?wait=${code()}`, JSON.stringify({ hesCode: code() })),
    ];
    for (const r of refused) expect(r.status, r.body).toBeLessThan(500);

    const batchIds = [json, csv].map((r) => (JSON.parse(r.body) as { id: string }).id);
    await waitFor(
      async () =>
        (await stack.db.prisma.check.count({
          where: {
            OR: [{ id: { in: singles } }, { batchId: { in: batchIds } }],
            status: { in: ['queued', 'processing'] },
          },
        })) === 0,
      { timeoutMs: 45_000, message: 'every accepted check is final' },
    );

    // A graceful shutdown logs too.
    const [first] = workers;
    const exited = new Promise((resolve) => first!.once('exit', resolve));
    first!.kill('SIGTERM');
    await exited;
    // The pipes may still hold the last lines when 'exit' fires: wait for them, not for a fixed time.
    await waitFor(() => linesOf(first!).some((l) => l.includes('"worker stopped"')), {
      timeoutMs: 5_000,
      message: "the stopped worker's last log line",
    });

    // The capture works: each process wrote lines; the API one per request at least.
    expect(linesOf(api).length).toBeGreaterThanOrEqual(4 + 2 + refused.length);
    for (const w of workers) expect(linesOf(w).length).toBeGreaterThan(1);
    expect(linesOf(first!).some((l) => l.includes('"worker stopped"'))).toBe(true);
    expect(stack.logs.some((l) => l.includes('"check job done"'))).toBe(true);

    expect(codes.length).toBeGreaterThan(60);
    // …and into the stack's shared log, which the other audits scan.
    expect(stack.logs.some((l) => l.includes('"worker stopped"'))).toBe(true);
    expect(leakedCodes(codes, [...stack.logs, ...[...own.values()].flat()])).toEqual([]);
  }, 90_000);
});
