import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface TestRedis {
  url: string;
  /** Unique per call; pass it as BullMQ's `prefix` and start own keys with `${prefix}:`. */
  prefix: string;
  /** Connected, with `maxRetriesPerRequest: null` as BullMQ requires. */
  connection: Redis;
  /** Deletes the keys under `${prefix}:` (only those); resolves to how many. */
  flush(): Promise<number>;
  /** Flushes, then closes the connection. Idempotent. */
  close(): Promise<void>;
}

export function testRedisUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.TEST_REDIS_URL || env.REDIS_URL || DEFAULT_REDIS_URL;
}

/** Glob metacharacters of SCAN MATCH, escaped. */
const escapeGlob = (s: string): string => s.replace(/[*?[\]\\]/g, '\\$&');

/** A Redis connection and key prefix of one test file's own, so files run in parallel and re-run cleanly. */
export async function createTestRedis(label = 'test'): Promise<TestRedis> {
  const url = testRedisUrl();
  const safe = label
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .slice(0, 30);
  const prefix = `hes-test:${safe}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const connection = new Redis(url, {
    maxRetriesPerRequest: null,
    lazyConnect: true,
    connectionName: prefix,
  });
  connection.on('error', () => {});
  try {
    await connection.connect();
  } catch (err) {
    connection.disconnect();
    throw new Error(`Redis is not reachable at ${url}: ${(err as Error).message}`, { cause: err });
  }

  async function flush(): Promise<number> {
    // SCAN, not KEYS: never block a Redis shared with other test files.
    const match = `${escapeGlob(prefix)}:*`;
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await connection.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await connection.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  }

  let closed: Promise<void> | undefined;
  return {
    url,
    prefix,
    connection,
    flush,
    close() {
      closed ??= (async () => {
        try {
          await flush();
        } finally {
          await connection.quit().catch(() => connection.disconnect());
        }
      })();
      return closed;
    },
  };
}
