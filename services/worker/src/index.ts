/**
 * The worker as a library (tests, tools): build a runtime from injected dependencies. The process
 * entry point with signal handling is main.ts.
 */
export { WorkerMetrics } from './adapters/metrics.js';
export { startMetricsServer } from './adapters/metrics-server.js';
export { RedisRateLimiter, type Reservation } from './adapters/redis-rate-limiter.js';
export { loadWorkerConfig, type WorkerConfig } from './config.js';
export { createWorkerRuntime, type WorkerRuntime, type WorkerRuntimeDeps } from './create-worker-runtime.js';
export type { ReconcileReport } from './domain/reconciler.js';
export type { PurgeReport } from './domain/retention.js';
