import { Redis, type RedisOptions } from 'ioredis';

/**
 * BullMQ needs `maxRetriesPerRequest: null` on the connections of workers (blocking commands must not
 * time out). Producers on the request path pass `failFast` so an outage answers quickly instead of
 * queueing commands forever in ioredis' offline queue.
 */
export function createRedis(
  url: string,
  options: { name: string; failFast?: boolean } & RedisOptions,
): Redis {
  const { name, failFast, ...rest } = options;
  return new Redis(url, {
    connectionName: name,
    lazyConnect: false,
    maxRetriesPerRequest: failFast ? 1 : null,
    enableOfflineQueue: !failFast,
    // Reconnect forever with a capped delay: Redis restarts must heal without a process restart.
    retryStrategy: (times) => Math.min(times * 200, 5_000),
    ...rest,
  });
}
