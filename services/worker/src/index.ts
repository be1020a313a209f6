// The worker as a library (tests, embedding); `main.ts` is the process entry.
export { loadWorkerConfig, type WorkerConfig } from './config.js';
export { createWorkerRuntime, type WorkerRuntime, type WorkerRuntimeDeps } from './create-worker-runtime.js';
