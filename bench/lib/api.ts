import { request } from 'undici';
import { now } from './stats.js';

/** POST /v1/batches; resolves with the batch id, the status and the time to the answer (ms). */
export async function postBatch(
  apiUrl: string,
  key: string,
  body: string,
  format: 'json' | 'csv',
): Promise<{ id: string; status: number; ms: number }> {
  const t0 = now();
  const res = await request(`${apiUrl}/v1/batches${format === 'csv' ? '?kind=standard' : ''}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': format === 'csv' ? 'text/csv' : 'application/json',
    },
    body,
    headersTimeout: 120_000,
    bodyTimeout: 120_000,
  });
  const text = await res.body.text();
  const ms = now() - t0;
  if (res.statusCode !== 202)
    throw new Error(`POST /v1/batches answered ${res.statusCode}: ${text.slice(0, 300)}`);
  return { id: (JSON.parse(text) as { id: string }).id, status: res.statusCode, ms };
}
