import { ApiProblem } from './problem.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const invalid = () => new ApiProblem('INVALID_CURSOR', { detail: 'cursor is not one returned by this API' });

export interface DeliveryKey {
  createdAt: Date;
  id: string;
}

/** (created_at, id) of the last delivery shown; deliveries are listed newest first. */
export const encodeDeliveryCursor = (row: DeliveryKey) =>
  Buffer.from(`d|${row.createdAt.getTime()}|${row.id}`, 'utf8').toString('base64url');

export function decodeDeliveryCursor(cursor: string | undefined): DeliveryKey | null {
  if (cursor === undefined || cursor === '') return null;
  const text = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const [tag, ms, id, ...rest] = text.split('|');
  if (tag !== 'd' || rest.length > 0 || !/^\d{1,15}$/.test(ms ?? '') || !UUID.test(id ?? '')) throw invalid();
  return { createdAt: new Date(Number(ms)), id: id! };
}
