import type { FastifyInstance } from 'fastify';
import { ApiProblem } from '../../domain/problem.js';

/**
 * Accepts `text/csv` in the calling plugin only (Fastify encapsulation): the route streams the raw
 * request through csv-parse itself, so the parser hands over the stream, refusing at once a body whose
 * declared length is over the limit.
 */
export function acceptCsvBodies(app: FastifyInstance, bodyLimitBytes: number): void {
  app.addContentTypeParser('text/csv', (request, payload, done) => {
    const length = Number(request.headers['content-length']);
    if (Number.isFinite(length) && length > bodyLimitBytes) {
      payload.resume();
      done(
        new ApiProblem('PAYLOAD_TOO_LARGE', { detail: `The body exceeds ${bodyLimitBytes} bytes` }),
        undefined,
      );
      return;
    }
    done(null, payload);
  });
}

export const mediaTypeOf = (header: string | undefined) => (header ?? '').split(';')[0]!.trim().toLowerCase();
