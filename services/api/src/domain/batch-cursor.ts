import { ApiProblem } from './problem.js';

export interface BatchPosition {
  createdAt: Date;
  id: string;
}

const POSITION = /^b:(\d{1,15}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/**
 * Batch list cursors: the last batch's (created_at, id), newest first. Batches have no insertion
 * sequence like checks, and created_at alone is not unique under concurrent submissions.
 */
export function encodeBatchCursor(position: BatchPosition): string {
  return Buffer.from(`b:${position.createdAt.getTime()}:${position.id}`, 'utf8').toString('base64url');
}

export function decodeBatchCursor(cursor: string | undefined): BatchPosition | null {
  if (cursor === undefined || cursor === '') return null;
  const text = /^[A-Za-z0-9_-]{1,100}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = POSITION.exec(text);
  if (!match) throw new ApiProblem('INVALID_CURSOR', { detail: 'cursor is not one returned by this API' });
  return { createdAt: new Date(Number(match[1])), id: match[2]! };
}
