import type { ChecksQueue } from '@hes/core';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { JobQueue } from '../adapters/job-queue.js';
import type { RedisClient } from '../deps.js';

declare module 'fastify' {
  interface FastifyInstance {
    jobs: JobQueue;
    /** Command connection, used by /readyz. */
    redis: RedisClient;
  }
}

export interface QueueOptions {
  queue: ChecksQueue;
  redis: RedisClient;
  maxAttempts: number;
  backoffBaseMs: number;
}

export default fp<QueueOptions>(
  async function queue(app: FastifyInstance, opts) {
    const policy = { maxAttempts: opts.maxAttempts, backoffBaseMs: opts.backoffBaseMs };
    app.decorate(
      'jobs',
      new JobQueue(opts.queue, policy, { connected: () => opts.redis.status === 'ready' }),
    );
    app.decorate('redis', opts.redis);
  },
  { name: 'queue' },
);
