import { Transform } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiProblem } from '../domain/problem.js';

/**
 * A CSV roster is streamed to its parser unvalidated; a NUL byte in it would reach PostgreSQL, whose
 * text type cannot hold one, and fail the whole insert as a 500. This passes the body through
 * unchanged until a NUL appears, then drops the rest and ends with 400 CSV_INVALID, so the request is
 * still read to its end (the socket carries our answer) and nothing is stored.
 */
export function nulGuard(): Transform {
  let sawNul = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (sawNul) return done();
      const at = chunk.indexOf(0);
      if (at < 0) return done(null, chunk);
      sawNul = true;
      done(null, at > 0 ? chunk.subarray(0, at) : undefined);
    },
    flush(done) {
      done(
        sawNul
          ? new ApiProblem('CSV_INVALID', { detail: 'The CSV contains a NUL byte; send UTF-8 text' })
          : null,
      );
    },
  });
}

export default fp(
  async function csvGuard(app: FastifyInstance) {
    app.addHook('preParsing', async (request, _reply, payload) => {
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'text/csv') return payload;
      const guarded = payload.pipe(nulGuard());
      payload.on('error', (err) => guarded.destroy(err));
      // The CSV parser listens when it reads the body; a request refused before that (bad `?kind=`)
      // must not turn the guard's error into an uncaught exception.
      guarded.on('error', () => {});
      return guarded;
    });
  },
  { name: 'csv-guard' },
);
