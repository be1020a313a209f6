// Services build their own env schemas with the same zod as parseEnv (they do not depend on zod directly).
export { z } from 'zod';
export * from './auth/api-keys.js';
export * from './auth/api-keys-repository.js';
export * from './config/env.js';
export * from './config/gateway-config.js';
export * from './crypto/code-vault.js';
export * from './db/pg-pool.js';
export * from './db/prisma.js';
export * from './domain/check-types.js';
export * from './logging/logger.js';
export * from './presenters/batch-view.js';
export * from './presenters/check-view.js';
export * from './queue/catalog.js';
export * from './queue/check-events.js';
export * from './queue/enqueue.js';
export * from './queue/redis.js';
