import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { SandboxStatsSnapshot } from '@hes/sandbox';
import { SANDBOX_PASSWORD, SANDBOX_USERNAME } from './harness.js';

export interface ThreadedSandbox {
  baseUrl: string;
  stats(
    windowMs?: number,
  ): Promise<SandboxStatsSnapshot & { maxInWindow?: { all: number; accepted: number } }>;
  close(): Promise<void>;
}

/**
 * The sandbox on a thread of its own, for measurements of timing: in the test's thread, arrival stamps
 * would be delayed by whatever the worker runtimes are doing at that moment, as a remote Ministry's
 * never are. Everything goes over HTTP, stats included.
 */
export async function startThreadedSandbox(): Promise<ThreadedSandbox> {
  const thread = new Worker(new URL('./sandbox-thread.mjs', import.meta.url), {
    workerData: { username: SANDBOX_USERNAME, password: SANDBOX_PASSWORD },
    execArgv: ['--conditions=source'],
  });
  const [{ port }] = (await once(thread, 'message')) as [{ port: number }];
  const origin = `http://127.0.0.1:${port}`;
  return {
    baseUrl: `${origin}/services/g2g/test/saglik/hes/`,
    async stats(windowMs) {
      const res = await fetch(`${origin}/__sandbox/stats${windowMs ? `?windowMs=${windowMs}` : ''}`);
      return (await res.json()) as Awaited<ReturnType<ThreadedSandbox['stats']>>;
    },
    async close() {
      thread.postMessage('close');
      await once(thread, 'message');
      await thread.terminate();
    },
  };
}
