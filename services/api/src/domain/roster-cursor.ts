import { ApiProblem } from './problem.js';

/**
 * Opaque keyset cursors of the roster lists: base64url of a tag and the sort key of the last row, so a
 * client that follows `nextCursor` sees every row once while rows are added.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function decode(cursor: string | undefined, tag: string): string[] | null {
  if (cursor === undefined || cursor === '') return null;
  const text = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const parts = text.split('|');
  if (parts[0] !== tag) throw invalid();
  return parts.slice(1);
}

const invalid = () => new ApiProblem('INVALID_CURSOR', { detail: 'cursor is not one returned by this API' });
const encode = (...parts: string[]) => Buffer.from(parts.join('|'), 'utf8').toString('base64url');

export interface TimeKey {
  createdAt: Date;
  id: string;
}

/** (created_at, id) of the last row: rosters (oldest first) and roster batches (newest first). */
export const encodeTimeCursor = (tag: 'r' | 'b', row: TimeKey) =>
  encode(tag, String(row.createdAt.getTime()), row.id);

export function decodeTimeCursor(tag: 'r' | 'b', cursor: string | undefined): TimeKey | null {
  const parts = decode(cursor, tag);
  if (!parts) return null;
  const [ms, id] = parts;
  if (parts.length !== 2 || !/^\d{1,15}$/.test(ms!) || !UUID.test(id!)) throw invalid();
  return { createdAt: new Date(Number(ms)), id: id! };
}

/** Position of the last item shown. */
export const encodePositionCursor = (position: number) => encode('p', String(position));

export function decodePositionCursor(cursor: string | undefined): number | null {
  const parts = decode(cursor, 'p');
  if (!parts) return null;
  if (parts.length !== 1 || !/^\d{1,9}$/.test(parts[0]!)) throw invalid();
  return Number(parts[0]);
}
