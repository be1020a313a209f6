import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { HesClient } from '@hes/client';
import {
  type CheckKind,
  type ChecksQueue,
  CodeVault,
  createLogger,
  enqueuePlanned,
  isBulkKind,
  type Logger,
  type PlannedJob,
  type Prisma,
  planBulk,
  planSingle,
  QUEUES,
  type RetryPolicy,
} from '@hes/core';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@hes/core/testing';
import { buildSandboxApp, type SandboxApp } from '@hes/sandbox';
import { Queue } from 'bullmq';
import { loadWorkerConfig, type WorkerConfig } from '../src/config.js';
import {
  createWorkerRuntime,
  type WorkerRuntime,
  type WorkerRuntimeDeps,
} from '../src/create-worker-runtime.js';
import type { HesApi } from '../src/domain/hes-api.js';

export const SANDBOX_USERNAME = 'worker-tests';
export const SANDBOX_PASSWORD = 'worker-tests-secret';

export type CheckRow = Awaited<ReturnType<TestDatabase['prisma']['check']['findFirstOrThrow']>>;

export interface InsertSpec {
  kind: CheckKind;
  codes: readonly string[];
  /** Roster checks: one batch row; bulk kinds are planned in bulk chunks. */
  roster?: boolean;
  identityLast3?: (code: string, index: number) => string | null;
  visit?: Prisma.InputJsonObject | null;
  /** Overrides the chunk size of planBulk (default 500). */
  chunkSize?: number;
}

export interface Inserted {
  ids: string[];
  batchId: string | null;
  plans: PlannedJob[];
  codeOf: Map<string, string>;
}

/** Captures pino lines so tests can assert what was (not) logged. */
export class LogSink {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk, _enc, done) => {
      this.lines.push(String(chunk));
      done();
    },
  });
  get text(): string {
    return this.lines.join('');
  }
}

/**
 * Everything one test file needs: its own database, Redis prefix and sandbox, and real worker
 * runtimes started in-process against them.
 */
export class Harness {
  readonly runtimes = new Set<WorkerRuntime>();
  readonly logs = new LogSink();
  readonly logger: Logger;
  readonly vault: CodeVault;
  readonly queue: ChecksQueue;
  readonly retry: RetryPolicy;

  private constructor(
    readonly db: TestDatabase,
    readonly redis: TestRedis,
    readonly sandbox: SandboxApp,
    readonly baseUrl: string,
    readonly env: NodeJS.ProcessEnv,
  ) {
    this.logger = createLogger({
      name: 'worker-test',
      level: process.env.TEST_LOG_LEVEL ?? 'debug',
      destination: this.logs.stream,
    });
    const config = loadWorkerConfig(env);
    this.vault = new CodeVault(config.gateway.dataKey);
    this.retry = {
      maxAttempts: config.gateway.hes.maxAttempts,
      backoffBaseMs: config.gateway.hes.backoffBaseMs,
    };
    this.queue = new Queue(QUEUES.checks, { connection: redis.connection, prefix: redis.prefix });
  }

  static async start(label: string, env: NodeJS.ProcessEnv = {}): Promise<Harness> {
    const [db, redis] = await Promise.all([createTestDatabase(label), createTestRedis(label)]);
    const sandbox = buildSandboxApp({ username: SANDBOX_USERNAME, password: SANDBOX_PASSWORD });
    await sandbox.listen({ port: 0, host: '127.0.0.1' });
    const address = sandbox.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const baseUrl = `http://127.0.0.1:${port}/services/g2g/test/saglik/hes/`;
    return new Harness(db, redis, sandbox, baseUrl, {
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      HES_BASE_URL: baseUrl,
      HES_USERNAME: SANDBOX_USERNAME,
      HES_PASSWORD: SANDBOX_PASSWORD,
      HES_DATA_KEY: randomBytes(32).toString('base64'),
      HES_RATE_LIMIT_RPS: '500',
      HES_MAX_ATTEMPTS: '4',
      HES_BACKOFF_BASE_MS: '20',
      HES_BACKOFF_MAX_MS: '200',
      HES_REQUEST_TIMEOUT_MS: '5000',
      WORKER_CONCURRENCY: '8',
      RECONCILE_INTERVAL_MS: '60000',
      RECONCILE_STALE_MS: '60000',
      ...env,
    });
  }

  config(env: NodeJS.ProcessEnv = {}): WorkerConfig {
    return loadWorkerConfig({ ...this.env, ...env });
  }

  /** A real worker runtime in this process; maintenance (the reconciler timer) is off unless asked. */
  async startWorker(
    env: NodeJS.ProcessEnv = {},
    deps: Partial<WorkerRuntimeDeps> = {},
  ): Promise<WorkerRuntime> {
    const runtime = await createWorkerRuntime({
      config: this.config(env),
      prisma: this.db.prisma,
      logger: this.logger,
      maintenance: false,
      ...deps,
    });
    const close = runtime.close.bind(runtime);
    runtime.close = async (options) => {
      this.runtimes.delete(runtime);
      await close(options);
    };
    this.runtimes.add(runtime);
    return runtime;
  }

  /** Inserts checks the way the API does: encrypted code (AAD = id), HMAC, mask, planned job id. */
  async insertChecks(spec: InsertSpec): Promise<Inserted> {
    const { prisma } = this.db;
    const ids = spec.codes.map(() => randomUUID());
    let batchId: string | null = null;
    if (spec.roster) {
      batchId = randomUUID();
      await prisma.batch.create({ data: { id: batchId, kind: spec.kind, total: ids.length } });
    }
    const plans =
      spec.roster && isBulkKind(spec.kind)
        ? planBulk(spec.kind, batchId, ids, undefined, spec.chunkSize)
        : ids.map((id) => planSingle(id, `req-${id.slice(0, 8)}`, spec.roster ? 'roster' : 'interactive'));
    const jobOf = new Map<string, string>();
    for (const p of plans) {
      for (const id of p.name === 'single' ? [p.data.checkId] : p.data.checkIds) jobOf.set(id, p.jobId);
    }
    const codeOf = new Map<string, string>();
    await prisma.check.createMany({
      data: spec.codes.map((code, i) => {
        const id = ids[i]!;
        codeOf.set(id, code);
        return {
          id,
          kind: spec.kind,
          batchId,
          codeHmac: this.vault.hmac(code),
          codeMasked: this.vault.mask(code),
          codeCipher: this.vault.encrypt(code, id),
          identityLast3: spec.identityLast3?.(code, i) ?? null,
          visit: spec.visit ?? undefined,
          jobId: jobOf.get(id) ?? null,
        };
      }),
    });
    return { ids, batchId, plans, codeOf };
  }

  enqueue(plans: readonly PlannedJob[], policy: Partial<RetryPolicy> = {}): Promise<void> {
    return enqueuePlanned(this.queue, plans, { ...this.retry, ...policy });
  }

  async insertAndEnqueue(spec: InsertSpec, policy: Partial<RetryPolicy> = {}): Promise<Inserted> {
    const inserted = await this.insertChecks(spec);
    await this.enqueue(inserted.plans, policy);
    return inserted;
  }

  checks(ids: readonly string[]): Promise<CheckRow[]> {
    return this.db.prisma.check.findMany({ where: { id: { in: [...ids] } }, orderBy: { seq: 'asc' } });
  }

  async countPending(ids: readonly string[]): Promise<number> {
    return this.db.prisma.check.count({
      where: { id: { in: [...ids] }, status: { in: ['queued', 'processing'] } },
    });
  }

  stats() {
    return this.sandbox.sandbox.stats.snapshot();
  }

  /**
   * A real client of this harness's sandbox whose first bulk answer reports its first code `MISSING`
   * (the sandbox itself answers every code); every other call goes through unchanged.
   */
  droppingFirstBulkCode(): { api: HesApi; dropped: () => string | null; close: () => Promise<void> } {
    const client = new HesClient({
      baseUrl: this.baseUrl,
      username: SANDBOX_USERNAME,
      password: SANDBOX_PASSWORD,
    });
    let dropped: string | null = null;
    const api: HesApi = {
      checkHesCode: (code, o) => client.checkHesCode(code, o),
      checkEmployeeHesCode: (code, o) => client.checkEmployeeHesCode(code, o),
      checkVisitorHesCode: (code, visit, o) => client.checkVisitorHesCode(code, visit, o),
      checkHesCodePlus: (code, o) => client.checkHesCodePlus(code, o),
      checkHesCodesPlus: (codes, o) => client.checkHesCodesPlus(codes, o),
      async checkHesCodes(codes, o) {
        const entries = await client.checkHesCodes(codes, o);
        if (dropped !== null) return entries;
        dropped = entries[0]!.code;
        return entries.map((e, i) =>
          i === 0 ? { code: e.code, ok: false as const, reason: 'MISSING' as const, errorKey: null } : e,
        );
      },
    };
    return { api, dropped: () => dropped, close: () => client.close() };
  }

  /** Every string stored under the prefix (keys, values, hash fields, list/set/zset/stream members). */
  async redisDump(): Promise<string> {
    const r = this.redis.connection;
    const parts: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${this.redis.prefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        parts.push(key);
        const type = await r.type(key);
        if (type === 'string') parts.push((await r.get(key)) ?? '');
        else if (type === 'hash') parts.push(JSON.stringify(await r.hgetall(key)));
        else if (type === 'list') parts.push(JSON.stringify(await r.lrange(key, 0, -1)));
        else if (type === 'set') parts.push(JSON.stringify(await r.smembers(key)));
        else if (type === 'zset') parts.push(JSON.stringify(await r.zrange(key, 0, -1)));
        else if (type === 'stream') parts.push(JSON.stringify(await r.xrange(key, '-', '+')));
      }
    } while (cursor !== '0');
    return parts.join('\n');
  }

  async close(): Promise<void> {
    for (const runtime of [...this.runtimes]) await runtime.close({ force: true }).catch(() => undefined);
    await this.queue.close().catch(() => undefined);
    await this.sandbox.close();
    await this.redis.close();
    await this.db.drop();
  }
}
