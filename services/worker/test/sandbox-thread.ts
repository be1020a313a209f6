import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { buildSandboxApp } from '@hes/sandbox';

/**
 * The sandbox on its own thread: its event loop stamps arrivals the way a remote Ministry would, not
 * delayed by the worker runtimes sharing the test's thread. Talked to over HTTP only.
 */
const { username, password } = workerData as { username: string; password: string };
const app = buildSandboxApp({ username, password });
await app.listen({ port: 0, host: '127.0.0.1' });
parentPort!.postMessage({ port: (app.server.address() as AddressInfo).port });
parentPort!.once('message', async () => {
  await app.close();
  parentPort!.postMessage('closed');
});
