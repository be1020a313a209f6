import { CodeVault } from '@hes/core';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    vault: CodeVault;
  }
}

export default fp<{ dataKey: Buffer }>(
  async function vault(app: FastifyInstance, opts) {
    app.decorate('vault', new CodeVault(opts.dataKey));
  },
  { name: 'vault' },
);
