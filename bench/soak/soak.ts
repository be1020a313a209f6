/**
 * The soak run (issue 6 §1): the sandbox, the API and N workers as child processes on the local
 * PostgreSQL and Redis (a private database and key prefix), steady mixed load below capacity, rotating
 * Ministry faults, one worker replaced every minute (SIGTERM and SIGKILL in turn), RSS of every
 * process sampled, then a bounded drain and the reconciliation of every acknowledged check against
 * PostgreSQL, plus a scan of every line the API and workers wrote for the codes that were sent.
 * Used by `pnpm soak` (bench/soak/run.ts) and by test/hardening/soak.test.ts with a shorter duration.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createApiKey } from '@hes/core';
import { createTestDatabase, createTestRedis } from '@hes/core/testing';
import pg from 'pg';
import { request } from 'undici';
import { dumpDatabase, dumpRedis, leakedCodes } from '../../test/support/stack.js';
import { type MachineInfo, machineInfo } from '../lib/machine.js';
import { readRss } from '../lib/rss.js';
import { freePort, ROOT } from '../lib/stack.js';
import {
  type Accounting,
  INSTALL_RESULT_AUDIT,
  pendingCount,
  reconcile,
  unfinishedAcknowledged,
} from './accounting.js';
import { applyFaults, PHASES, SANDBOX_QUOTA_RPS, type SandboxStats, sandboxStats } from './faults.js';
import { type RestartEvent, WorkerFleet } from './fleet.js';
import { LoadDriver, type LoadPlan } from './load.js';
import { spawnService } from './processes.js';

export interface SoakOptions {
  durationMs: number;
  workers: number;
  phaseMs: number;
  restartEveryMs: number;
  sampleEveryMs: number;
  drainTimeoutMs: number;
  plan: LoadPlan;
  /** Gateway environment on top of the soak's defaults. */
  env?: Record<string, string>;
  label?: string;
  log?: (line: string) => void;
}

/** The gateway's upstream rate limit in the soak (the sandbox's quota is SANDBOX_QUOTA_RPS). */
export const GATEWAY_RPS = 10;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * Options for a run of `durationMs`: phases of ~1/15 of the run (8–40 s, so even a minute sees every
 * kind of fault), a restart every minute (more often in short runs so they see at least four), RSS every
 * 10 s (5 s in short runs), and a drain bounded by half the run (90 s – 5 min).
 */
export function soakOptions(durationMs: number, workers = 2): SoakOptions {
  return {
    durationMs,
    workers,
    phaseMs: clamp(durationMs / 15, 8_000, 40_000),
    restartEveryMs: clamp(durationMs / 4, 10_000, 60_000),
    sampleEveryMs: durationMs >= 300_000 ? 10_000 : 5_000,
    drainTimeoutMs: clamp(durationMs / 2, 90_000, 300_000),
    plan: {
      // ≈ 3 upstream calls/s of singles plus a bulk call per roster: well under GATEWAY_RPS even with
      // the retries of the fault phases, so the backlog a phase builds drains in the next calm one.
      singleRps: 3,
      smallRosterEveryMs: 20_000,
      smallRosterSize: 20,
      mediumRosterEveryMs: 120_000,
      mediumRosterSize: 300,
      maxInFlight: 64,
    },
  };
}

export interface MemorySample {
  t: number;
  phase: string;
  acknowledged: number;
  pending: number;
  /** RSS in MiB by process label (workers: by slot, with the label of the process in it). */
  rss: Record<string, { label: string; mb: number }>;
}

export interface SoakResult {
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  config: {
    durationSeconds: number;
    workers: number;
    phaseSeconds: number;
    restartEverySeconds: number;
    sampleEverySeconds: number;
    drainTimeoutSeconds: number;
    plan: LoadPlan;
    gatewayEnv: Record<string, string>;
  };
  load: { sent: number; skipped: number; responses: Record<string, number>; codesSent: number };
  accounting: Accounting;
  drain: { seconds: number; complete: boolean };
  phases: { atSeconds: number; name: string }[];
  restarts: RestartEvent[];
  /** Replacement workers that did not start (each is retried). */
  startFailures: string[];
  /** The commit the run's code came from, and whether the tree had uncommitted changes. */
  code: { commit: string; dirty: boolean };
  upstream: {
    sandbox: SandboxStats;
    /** hes_worker_upstream_requests_total by result, summed over every worker process. */
    workers: Record<string, number>;
    workersTotal: number;
    sandboxQuotaRps: number;
    gatewayRps: number;
  };
  memory: MemorySample[];
  leaks: { logLines: number; logs: string[]; database: string[]; redis: string[] };
  pass: boolean;
  problems: string[];
}

function gitState(): { commit: string; dirty: boolean } {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  try {
    return {
      commit: git('rev-parse', 'HEAD'),
      dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
    };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

/** Keys and values that identify the run's processes and storage but are not secrets worth hiding. */
function gatewayEnvForReport(env: Record<string, string>): Record<string, string> {
  const hidden = new Set(['HES_DATA_KEY', 'HES_PASSWORD', 'DATABASE_URL', 'REDIS_URL']);
  return Object.fromEntries(Object.entries(env).filter(([k]) => !hidden.has(k)));
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const label = options.label ?? 'soak';
  const startedAt = new Date();
  const t0 = performance.now();
  const seconds = () => Math.round((performance.now() - t0) / 1000);

  const db = await createTestDatabase(label);
  const redis = await createTestRedis(label);
  const pool = new pg.Pool({ connectionString: db.url, max: 2, application_name: 'hes-soak' });
  pool.on('error', () => {});
  await pool.query(INSTALL_RESULT_AUDIT);
  const machine = await machineInfo(db.url, redis.url);

  const username = 'soak-institution';
  const password = randomBytes(12).toString('hex');
  const sandboxPort = await freePort();
  const sandbox = spawnService('sandbox', 'services/hes-sandbox/src/main.ts', {
    SANDBOX_PORT: String(sandboxPort),
    SANDBOX_HOST: '127.0.0.1',
    HES_USERNAME: username,
    HES_PASSWORD: password,
    LOG_LEVEL: 'warn',
    SANDBOX_RATE_LIMIT_RPS: String(SANDBOX_QUOTA_RPS),
  });
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;

  const env: Record<string, string> = {
    NODE_ENV: 'production',
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    HES_BASE_URL: `${sandboxUrl}/services/g2g/test/saglik/hes/`,
    HES_USERNAME: username,
    HES_PASSWORD: password,
    HES_DATA_KEY: randomBytes(32).toString('base64'),
    HES_RATE_LIMIT_RPS: String(GATEWAY_RPS),
    // A retry budget that outlasts one fault phase (≈ 10 attempts, up to 5 s apart).
    HES_MAX_ATTEMPTS: '10',
    HES_BACKOFF_BASE_MS: '250',
    HES_BACKOFF_MAX_MS: '5000',
    // Below the sandbox's slowMs (6 s): a slow answer is a timeout.
    HES_REQUEST_TIMEOUT_MS: '3000',
    WORKER_CONCURRENCY: '8',
    // Shorter than production (30 s / 30 s / 60 s) so a killed worker's jobs and any orphan come back
    // within a phase; the mechanisms are the same.
    WORKER_LOCK_DURATION_MS: '10000',
    RECONCILE_INTERVAL_MS: '5000',
    RECONCILE_STALE_MS: '20000',
    WORKER_METRICS_PORT: '0',
    // One key generates all the load; the per-key limit is not what is soaked.
    API_KEY_RATE_LIMIT_RPS: '0',
    LOG_LEVEL: 'info',
    LOG_PRETTY: 'false',
    ...options.env,
  };

  const apiPort = await freePort();
  const fleet = new WorkerFleet(env, options.workers, t0);
  let api: ReturnType<typeof spawnService> | null = null;
  const timers: NodeJS.Timeout[] = [];
  const memory: MemorySample[] = [];
  const phases: { atSeconds: number; name: string }[] = [];
  let phase = 'startup';
  let driver: LoadDriver | null = null;
  try {
    for (let i = 0; ; i++) {
      if (!sandbox.alive()) throw new Error(`sandbox exited:\n${sandbox.lines.slice(-20).join('\n')}`);
      try {
        const res = await request(`${sandboxUrl}/__sandbox/health`);
        await res.body.dump();
        if (res.statusCode === 200) break;
      } catch {}
      if (i > 600) throw new Error(`sandbox did not start:\n${sandbox.lines.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    api = spawnService('api', 'services/api/src/server.ts', {
      ...env,
      PORT: String(apiPort),
      HOST: '127.0.0.1',
    });
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    for (let i = 0; ; i++) {
      if (!api.alive()) throw new Error(`api exited:\n${api.lines.slice(-20).join('\n')}`);
      try {
        const res = await request(`${apiUrl}/healthz`);
        await res.body.dump();
        if (res.statusCode === 200) break;
      } catch {}
      if (i > 600) throw new Error(`api did not start:\n${api.lines.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await fleet.start();
    const { key } = await createApiKey(db.prisma, { name: label, scopes: ['checks:read', 'checks:write'] });
    log(
      `soak: sandbox, api and ${options.workers} workers up after ${seconds()} s; load for ${options.durationMs / 1000} s`,
    );

    const sample = async () => {
      const rss: MemorySample['rss'] = {};
      const put = (slot: string, lbl: string, pid: number) => {
        const r = readRss(pid);
        if (r) rss[slot] = { label: lbl, mb: Math.round(r.rssMb * 10) / 10 };
      };
      put('api', 'api', api!.pid);
      put('sandbox', 'sandbox', sandbox.pid);
      for (const w of fleet.slots) put(`worker ${String.fromCharCode(65 + w.slot)}`, w.label, w.proc.pid);
      put('soak driver', 'soak driver', process.pid);
      await fleet.scrapeAll();
      memory.push({
        t: seconds(),
        phase,
        acknowledged: driver
          ? driver.tally.singles.size + driver.tally.batches.reduce((s, b) => s + b.total, 0)
          : 0,
        pending: await pendingCount(pool).catch(() => -1),
        rss,
      });
    };
    let sampling = Promise.resolve();
    timers.push(
      setInterval(() => {
        sampling = sampling.then(sample).catch(() => {});
      }, options.sampleEveryMs),
    );
    await sample();

    let phaseIndex = 0;
    const nextPhase = async () => {
      const p = PHASES[phaseIndex++ % PHASES.length]!;
      await applyFaults(sandboxUrl, p.faults);
      phase = p.name;
      phases.push({ atSeconds: seconds(), name: p.name });
      log(`soak: ${seconds()} s phase "${p.name}"`);
    };
    await nextPhase();
    timers.push(
      setInterval(
        () => void nextPhase().catch((e) => log(`soak: fault phase failed: ${e}`)),
        options.phaseMs,
      ),
    );

    let restarting = Promise.resolve();
    timers.push(
      setInterval(() => {
        restarting = restarting
          .then(() => fleet.restartNext())
          .then((e) =>
            log(
              `soak: ${e.atSeconds} s ${e.signal} ${e.label} (stopped in ${e.stopMs} ms, ${e.exit}${e.escalated ? ', escalated to SIGKILL' : ''}); ${e.replacement} up in ${e.startMs} ms`,
            ),
          )
          .catch((e) => log(`soak: restart failed: ${e}`));
      }, options.restartEveryMs),
    );

    driver = new LoadDriver(apiUrl, key, options.plan, randomInt(1, 1_000_000_000));
    driver.start();
    await new Promise((r) => setTimeout(r, options.durationMs));

    // Load off, faults off, no more restarts; the fleet drains the backlog.
    for (const t of timers.splice(0)) clearInterval(t);
    await driver.stop();
    await restarting;
    await applyFaults(sandboxUrl, PHASES[0]!.faults);
    phase = 'drain';
    phases.push({ atSeconds: seconds(), name: 'drain (calm)' });
    log(`soak: ${seconds()} s load stopped; draining (at most ${options.drainTimeoutMs / 1000} s)`);
    const drainStart = performance.now();
    let complete = false;
    let lastSample = performance.now();
    while (performance.now() - drainStart < options.drainTimeoutMs) {
      if ((await unfinishedAcknowledged(pool, driver.tally)) <= 0) {
        complete = true;
        break;
      }
      if (performance.now() - lastSample >= options.sampleEveryMs) {
        lastSample = performance.now();
        await sample();
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const drainSeconds = Math.round((performance.now() - drainStart) / 100) / 10;
    await sample();
    log(`soak: drain ${complete ? 'complete' : 'INCOMPLETE'} after ${drainSeconds} s`);

    const accounting = await reconcile(pool, driver.tally);
    const sandboxNow = await sandboxStats(sandboxUrl);
    await fleet.stop();
    const workersUpstream = fleet.upstreamTotals();

    // Privacy: every line the API and every worker (dead ones included) wrote, the database, Redis.
    await api.stop('SIGTERM', 15_000);
    const lines = [api.lines, ...fleet.all.map((w) => w.proc.lines)].flat();
    const codes = driver.tally.codes;
    const leaks = {
      logLines: lines.length,
      logs: leakedCodes(codes, lines),
      database: leakedCodes(codes, await dumpDatabase(db)),
      redis: leakedCodes(codes, await dumpRedis(redis)),
    };

    const problems: string[] = [];
    if (accounting.lost > 0)
      problems.push(
        `${accounting.lost} acknowledged checks lost (${accounting.missing} missing, ${accounting.notFinal} not final)`,
      );
    if (accounting.duplicates > 0) problems.push(`${accounting.duplicates} second results`);
    if (accounting.rosterCountMismatches > 0)
      problems.push(
        `${accounting.rosterCountMismatches} rosters whose rows differ from the acknowledged total`,
      );
    if (accounting.finalWithCiphertext > 0)
      problems.push(`${accounting.finalWithCiphertext} final checks still hold ciphertext`);
    for (const [where, found] of Object.entries({
      logs: leaks.logs,
      database: leaks.database,
      redis: leaks.redis,
    }))
      if (found.length > 0) problems.push(`${found.length} full codes in the ${where}`);
    const workersTotal = Object.values(workersUpstream).reduce((a, b) => a + b, 0);
    if (workersTotal > sandboxNow.totalRequests)
      problems.push(
        `workers counted ${workersTotal} upstream requests, the sandbox saw ${sandboxNow.totalRequests}`,
      );

    return {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine,
      config: {
        durationSeconds: options.durationMs / 1000,
        workers: options.workers,
        phaseSeconds: options.phaseMs / 1000,
        restartEverySeconds: options.restartEveryMs / 1000,
        sampleEverySeconds: options.sampleEveryMs / 1000,
        drainTimeoutSeconds: options.drainTimeoutMs / 1000,
        plan: options.plan,
        gatewayEnv: gatewayEnvForReport(env),
      },
      load: {
        sent: driver.tally.sent,
        skipped: driver.tally.skipped,
        responses: driver.tally.responses,
        codesSent: codes.length,
      },
      accounting,
      drain: { seconds: drainSeconds, complete },
      phases,
      restarts: fleet.restarts,
      startFailures: fleet.startFailures,
      code: gitState(),
      upstream: {
        sandbox: sandboxNow,
        workers: workersUpstream,
        workersTotal,
        sandboxQuotaRps: SANDBOX_QUOTA_RPS,
        gatewayRps: GATEWAY_RPS,
      },
      memory,
      leaks,
      pass: problems.length === 0,
      problems,
    };
  } finally {
    for (const t of timers) clearInterval(t);
    await driver?.stop(1_000).catch(() => {});
    await Promise.all(fleet.all.map((w) => w.proc.stop('SIGKILL')));
    await api?.stop('SIGKILL');
    await sandbox.stop('SIGTERM', 5_000);
    await pool.end().catch(() => {});
    await redis.close().catch(() => {});
    await db.drop().catch(() => {});
  }
}
