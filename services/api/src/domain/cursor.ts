import { ApiProblem } from './problem.js';

/**
 * List cursors are the opaque base64url of a check's `seq` (insertion order), so pages stay stable
 * while new checks arrive: a client that follows `nextCursor` sees every row exactly once.
 */
export function encodeCursor(seq: bigint): string {
  return Buffer.from(`s:${seq.toString()}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): bigint | null {
  if (cursor === undefined || cursor === '') return null;
  const text = /^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = /^s:(\d{1,19})$/.exec(text);
  if (!match) throw new ApiProblem('INVALID_CURSOR', { detail: 'cursor is not one returned by this API' });
  const seq = BigInt(match[1]!);
  if (seq > 9_223_372_036_854_775_807n)
    throw new ApiProblem('INVALID_CURSOR', { detail: 'cursor is out of range' });
  return seq;
}
