import { setMaxListeners } from 'node:events';
import type { CheckEventHub } from '@hes/core';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    checkEvents: CheckEventHub;
    /** Aborted when the server starts closing: `?wait=` requests answer 202 at once instead of holding the close. */
    closing: AbortSignal;
  }
}

const START_TIMEOUT_MS = 3_000;

export default fp<{ events: CheckEventHub }>(
  async function events(app: FastifyInstance, opts) {
    const closing = new AbortController();
    // One listener per `?wait=` request in flight, removed when it is answered: a crowd at the doors is
    // not a leak, and Node's warning at 11 would tell an operator it was.
    setMaxListeners(0, closing.signal);
    // Subscribed before the first request when Redis answers; if it does not, the API still starts
    // (checks are stored, /readyz says why) and `?wait=` degrades to answering 202 at its deadline.
    let timer: NodeJS.Timeout | undefined;
    const started = await Promise.race([
      opts.events.start().then(
        () => true,
        () => false,
      ),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), START_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!started)
      app.log.warn('completion events not subscribed yet (Redis unavailable?); ?wait= may answer 202 late');
    app.decorate('checkEvents', opts.events);
    app.decorate('closing', closing.signal);
    app.addHook('preClose', async () => {
      closing.abort();
    });
  },
  { name: 'events' },
);
