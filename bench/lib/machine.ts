import { readFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { Redis } from 'ioredis';
import pg from 'pg';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memGiB: number;
  os: string;
  node: string;
  postgres: string;
  redis: string;
}

function cpuModel(): string {
  const model = cpus()[0]?.model;
  if (model) return model.trim();
  try {
    return /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function machineInfo(databaseUrl: string, redisUrl: string): Promise<MachineInfo> {
  let postgres = 'unknown';
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    postgres = `PostgreSQL ${rows[0]?.v ?? '?'}`;
  } catch {
  } finally {
    await client.end().catch(() => {});
  }
  let redis = 'unknown';
  const conn = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  conn.on('error', () => {});
  try {
    await conn.connect();
    redis = /redis_version:(\S+)/.exec(await conn.info('server'))?.[1] ?? 'unknown';
  } catch {
  } finally {
    conn.disconnect();
  }
  return {
    cpuModel: cpuModel(),
    cores: cpus().length,
    memGiB: totalmem() / 1024 ** 3,
    os: `${type()} ${release()}`,
    node: process.version,
    postgres,
    redis,
  };
}
