import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createApiKey } from '@hes/core';
import { sandboxIdentityLast3 } from '@hes/sandbox';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../support/stack.js';

/**
 * The HR console in a real headless Chromium (Debian's, driven by playwright-core) against the real
 * API listening on a port, a real worker and the sandbox Ministry: sign in, upload a roster, wait for
 * it, check the counts and the action list, download the CSV, and no CSP violation on the way.
 */
const CHROMIUM = '/usr/bin/chromium';

// Sandbox: first char R → RISKY, N → NOT_FOUND, E → EXPIRED, else RISKLESS; chars 8–10 → identity digits.
const RISKLESS = ['A100000123', 'B200000456', 'C300000789', 'D400000321'];
const RISKY = ['RISK000111', 'RISK000222'];
const NOT_FOUND = ['NOPE000333'];
const EXPIRED = ['EXPD000444'];
const ALL = [...RISKLESS, ...RISKY, ...NOT_FOUND, ...EXPIRED];
const ROSTER = [
  'hesCode,reference,identityLast3',
  `${RISKLESS[0]},emp-ok-0,${sandboxIdentityLast3(RISKLESS[0]!)}`,
  `${RISKLESS[1]},emp-ok-1,`,
  `${RISKLESS[2]},emp-ok-2,`,
  `${RISKLESS[3]},emp-mismatch,000`,
  `${RISKY[0]},emp-risky-0,`,
  `${RISKY[1]},emp-risky-1,`,
  `${NOT_FOUND[0]},emp-notfound,`,
  `${EXPIRED[0]},emp-expired,`,
  'garbage,emp-invalid,',
].join('\n');
const TOTAL = 9;

let stack: Stack;
let baseUrl: string;
let browser: Browser;
let hrKey: string;
let writeOnlyKey: string;

beforeAll(async () => {
  // Employee checks go one call per code: at 4 a second the roster takes about two seconds to finish.
  stack = await startStack('console', { env: { HES_RATE_LIMIT_RPS: '4' } });
  baseUrl = await stack.listen();
  await stack.startWorker();
  hrKey = (await createApiKey(stack.db.prisma, { name: 'hr', scopes: ['checks:write', 'checks:read'] })).key;
  writeOnlyKey = (await createApiKey(stack.db.prisma, { name: 'kiosk', scopes: ['checks:write'] })).key;
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

interface Watched {
  page: Page;
  /** console errors, uncaught exceptions and CSP violations, as text. */
  problems: string[];
  violations: string[];
  urls: string[];
}

async function openConsole(): Promise<Watched> {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const watched: Watched = { page, problems: [], violations: [], urls: [] };
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning')
      watched.problems.push(`${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => watched.problems.push(`pageerror: ${err.message}`));
  page.on('request', (req) => watched.urls.push(req.url()));
  // Injected by the driver, not by the page: it is not subject to the page's CSP.
  await page.exposeFunction('reportCspViolation', (text: string) => watched.violations.push(text));
  await page.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) =>
      window.reportCspViolation(e.violatedDirective + ' ' + e.blockedURI));`,
  });
  const res = await page.goto(`${baseUrl}/console`);
  expect(res?.status()).toBe(200);
  const csp = res?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("style-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  return watched;
}

async function signIn(page: Page, key: string) {
  await page.getByLabel('API key', { exact: true }).fill(key);
  await page.getByRole('button', { name: 'Use this key' }).click();
}

const rowCount = (page: Page, table: string, key: string) =>
  page.locator(`#${table} tbody tr[data-key="${key}"] td.num`).textContent();

describe('HR web console', { timeout: 60_000 }, () => {
  it('serves its files with their types under the console CSP; nothing else under /console', async () => {
    for (const [path, type] of [
      ['/console', 'text/html'],
      ['/console/', 'text/html'],
      ['/console/app.js', 'text/javascript'],
      ['/console/api.js', 'text/javascript'],
      ['/console/console.css', 'text/css'],
      ['/console/favicon.svg', 'image/svg+xml'],
    ] as const) {
      const res = await stack.api.inject({ method: 'GET', url: path });
      expect(res.statusCode, path).toBe(200);
      expect(String(res.headers['content-type']).startsWith(type), path).toBe(true);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toMatch(/^default-src 'none'; script-src 'self'/);
    }
    const page = (await stack.api.inject({ method: 'GET', url: '/console' })).body;
    // No inline script or style: everything the page loads is a same-origin file.
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page).not.toMatch(/\sstyle=|<style/);
    for (const path of ['/console/index.html', '/console/../package.json', '/console/nope.js']) {
      const res = await stack.api.inject({ method: 'GET', url: path });
      expect(res.statusCode, path).toBe(404);
    }
    // The API's own answers keep their closed CSP.
    const api = await stack.api.inject({ method: 'GET', url: '/v1/batches', headers: stack.headers });
    expect(api.headers['content-security-policy']).toMatch(/^default-src 'none'; frame-ancestors 'none'/);
  });

  it('uploads a roster, follows it to completion, lists who needs action and downloads the CSV', async () => {
    const { page, problems, violations, urls } = await openConsole();
    await signIn(page, hrKey);
    await expect.poll(() => page.locator('#upload-section').isVisible()).toBe(true);
    expect(await page.evaluate("sessionStorage.getItem('hes-console-api-key')")).toBe(hrKey);
    expect(await page.evaluate('localStorage.length')).toBe(0);

    await page.getByLabel('Roster file').setInputFiles({
      name: 'roster.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(ROSTER),
    });
    await page.getByLabel('Kind of check').selectOption('employee');
    await page.getByRole('button', { name: 'Upload and check' }).click();

    // Live progress while it runs, announced through the status region.
    const progressText = page.locator('#progress-text');
    await expect.poll(() => progressText.textContent()).not.toBe('');
    expect(await progressText.textContent()).toMatch(
      new RegExp(`^(Queued|Running): \\d of ${TOTAL} checks done`),
    );
    expect(await progressText.getAttribute('aria-live')).toBe('polite');

    await page.locator('#batch-section[data-status="completed"]').waitFor({ timeout: 30_000 });
    const batchId = (await page.locator('#batch-id').textContent())!;
    expect(batchId).toMatch(/^[0-9a-f-]{36}$/);
    await expect
      .poll(() => page.getByRole('status').first().textContent())
      .toBe(`Completed: ${TOTAL} of ${TOTAL} checks final (0 failed)`);
    expect(await page.locator('#batch-progress').getAttribute('aria-labelledby')).toBe('progress-text');
    expect(
      await page.locator('#batch-progress').evaluate((el) => (el as unknown as { value: number }).value),
    ).toBe(100);
    expect(await rowCount(page, 'status-counts', 'completed')).toBe(String(TOTAL));
    expect(await rowCount(page, 'status-counts', 'failed')).toBe('0');
    expect(await rowCount(page, 'outcome-counts', 'RISKLESS')).toBe('4');
    expect(await rowCount(page, 'outcome-counts', 'RISKY')).toBe('2');
    expect(await rowCount(page, 'outcome-counts', 'NOT_FOUND')).toBe('1');
    expect(await rowCount(page, 'outcome-counts', 'EXPIRED')).toBe('1');
    expect(await rowCount(page, 'outcome-counts', 'INVALID')).toBe('1');

    // The people needing action: RISKY, NOT_FOUND, EXPIRED and the identity mismatch, nobody else.
    await expect.poll(() => page.locator('#action-summary').textContent()).toBe('5 people need action.');
    const rows = await page
      .locator('#action-table tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      );
    const byRef = new Map(rows.map((r) => [r[0]!, r]));
    expect([...byRef.keys()].sort()).toEqual(
      ['emp-expired', 'emp-mismatch', 'emp-notfound', 'emp-risky-0', 'emp-risky-1'].sort(),
    );
    expect(byRef.get('emp-risky-0')![4]).toBe('RISKY');
    expect(byRef.get('emp-notfound')![4]).toMatch(/^NOT_FOUND/);
    expect(byRef.get('emp-expired')![4]).toMatch(/^EXPIRED/);
    expect(byRef.get('emp-mismatch')![4]).toMatch(/^identity mismatch/);
    expect(byRef.get('emp-risky-0')![1]).toBe(`${RISKY[0]!.slice(0, 2)}******${RISKY[0]!.slice(-2)}`);
    for (const r of rows) expect(r[1]).toMatch(/^[A-Z0-9]{2}\*{6}[A-Z0-9]{2}$/);
    expect(byRef.get('emp-risky-0')![2]).toMatch(/\*/); // masked names only
    expect(byRef.get('emp-mismatch')![3]).toMatch(/^\*+\d{3}$/);
    const html = await page.content();
    for (const code of ALL) expect(html).not.toContain(code);

    // One category at a time.
    await page.getByLabel('Show').selectOption('mismatch');
    await expect.poll(() => page.locator('#action-table tbody tr').count()).toBe(1);
    expect(await page.locator('#action-table tbody tr td').first().textContent()).toBe('emp-mismatch');

    // Download: the file the browser saves is the API's CSV export, byte for byte.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`batch-${batchId}.csv`);
    const saved = await readFile((await download.path())!, 'utf8');
    const api = await fetch(`${baseUrl}/v1/batches/${batchId}/checks`, {
      headers: { ...stack.headers, accept: 'text/csv' },
    });
    expect(saved).toBe(await api.text());
    const lines = saved.trimEnd().split('\n');
    expect(lines).toHaveLength(TOTAL + 1);
    expect(lines.slice(1).every((l) => l.includes(',completed,'))).toBe(true);
    for (const code of ALL) expect(saved).not.toContain(code);

    // Recent batches lists it.
    await expect
      .poll(() => page.locator('#recent-table tbody tr').first().locator('button').getAttribute('aria-label'))
      .toBe(`Open batch ${batchId}`);

    expect(urls.filter((u) => u.includes(hrKey))).toEqual([]);
    expect(violations).toEqual([]);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('a wrong key or a key without checks:read gets a clear error, and no CSP violation either way', async () => {
    const { page, problems, violations } = await openConsole();
    await signIn(page, 'hes_notarealkey000000000000');
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toMatch(/^This API key was not accepted \(UNAUTHORIZED\)/);
    expect(await page.locator('#upload-section').isVisible()).toBe(false);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);

    await signIn(page, writeOnlyKey);
    await expect
      .poll(() => alert.textContent())
      .toMatch(/^This key lacks the scope checks:write\/checks:read needed here \(FORBIDDEN_SCOPE\)/);
    expect(await page.locator('#upload-section').isVisible()).toBe(false);

    expect(violations).toEqual([]);
    // The browser logs the refused requests themselves; nothing else may appear.
    expect(problems.filter((p) => !/status of 40[13]/.test(p))).toEqual([]);
    await page.context().close();
  });
});
