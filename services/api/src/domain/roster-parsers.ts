import type { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { ApiProblem, type FieldError } from './problem.js';

/** One roster line as submitted; the code is raw until batch intake normalises it. */
export interface RosterItem {
  hesCode: string;
  reference: string | null;
  identityLast3: string | null;
}

export interface RosterLimits {
  maxItems: number;
  maxBytes: number;
}

const COLUMN_ALIASES: Record<string, keyof RosterItem> = {
  hescode: 'hesCode',
  reference: 'reference',
  identitylast3: 'identityLast3',
};

const LAST3 = /^[0-9]{3}$/;
const MAX_REFERENCE = 200;
const MAX_CODE = 200;
const MAX_FIELD_ERRORS = 20;

export function tooLarge(count: number, maxItems: number): ApiProblem {
  return new ApiProblem('BATCH_TOO_LARGE', {
    detail: `A batch holds at most ${maxItems} items; this one has ${count}`,
    extensions: { limit: maxItems },
  });
}

/** JSON rosters arrive validated by the route schema; only the item count is checked here. */
export function fromJsonItems(
  items: readonly { hesCode: string; reference?: string | undefined; identityLast3?: string | undefined }[],
  limits: Pick<RosterLimits, 'maxItems'>,
): RosterItem[] {
  if (items.length > limits.maxItems) throw tooLarge(items.length, limits.maxItems);
  return items.map((i) => ({
    hesCode: i.hesCode,
    reference: i.reference ?? null,
    identityLast3: i.identityLast3 ?? null,
  }));
}

/** "HES_CODE " → "hescode": header names are case-insensitive, trimmed, with or without underscores. */
function headerIndex(header: string[]): Record<keyof RosterItem, number> {
  const index: Partial<Record<keyof RosterItem, number>> = {};
  header.forEach((raw, i) => {
    const name = COLUMN_ALIASES[raw.trim().toLowerCase().replaceAll('_', '').replaceAll('-', '')];
    if (!name)
      throw new ApiProblem('CSV_INVALID', {
        detail: `Unknown column ${JSON.stringify(raw.slice(0, 40))} in the header (expected hesCode, reference, identityLast3)`,
      });
    if (index[name] !== undefined)
      throw new ApiProblem('CSV_INVALID', { detail: `Column ${name} appears twice in the header` });
    index[name] = i;
  });
  if (index.hesCode === undefined) {
    throw new ApiProblem('CSV_INVALID', {
      detail: 'The header row must name a hesCode (or hes_code) column',
    });
  }
  return {
    hesCode: index.hesCode,
    reference: index.reference ?? -1,
    identityLast3: index.identityLast3 ?? -1,
  };
}

function waitDrain(stream: NodeJS.WritableStream & { destroyed: boolean }): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/**
 * Reads a CSV roster from the raw request stream with csv-parse: UTF-8 BOM stripped, CRLF or LF, quoted
 * fields, blank lines skipped. Field problems are collected (with their data row, 1-based, header not
 * counted) and reported together;
 * rows beyond `maxItems` are counted but not kept so the answer can say how many there were.
 */
export async function parseCsvRoster(source: Readable, limits: RosterLimits): Promise<RosterItem[]> {
  const parser = parse({
    bom: true,
    trim: true,
    skip_empty_lines: true,
    max_record_size: 64 * 1024,
  });

  // Fed by hand rather than piped: on an early error the request must not be destroyed (the socket
  // carries our answer), only drained.
  const feeding = (async () => {
    let bytes = 0;
    try {
      for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
        if (parser.destroyed) return;
        bytes += chunk.length;
        if (bytes > limits.maxBytes) {
          throw new ApiProblem('PAYLOAD_TOO_LARGE', {
            detail: `The body exceeds ${limits.maxBytes} bytes`,
            headers: { connection: 'close' },
          });
        }
        if (!parser.write(chunk)) await waitDrain(parser);
      }
      parser.end();
    } catch (err) {
      parser.destroy(err as Error);
    }
  })();

  const items: RosterItem[] = [];
  const errors: FieldError[] = [];
  let columns: Record<keyof RosterItem, number> | null = null;
  let count = 0;
  try {
    // No `info: true`: per-record info objects double the parse time; errors name the data row instead.
    for await (const record of parser as AsyncIterable<string[]>) {
      if (!columns) {
        columns = headerIndex(record);
        continue;
      }
      const at = count++;
      if (count > limits.maxItems) continue;
      const hesCode = record[columns.hesCode] ?? '';
      const reference = columns.reference >= 0 ? record[columns.reference] || null : null;
      const identityLast3 = columns.identityLast3 >= 0 ? record[columns.identityLast3] || null : null;
      if (errors.length < MAX_FIELD_ERRORS) {
        if (hesCode.length > MAX_CODE)
          errors.push({
            path: `/items/${at}/hesCode`,
            in: 'body',
            message: `row ${count}: longer than ${MAX_CODE} characters`,
          });
        if (reference !== null && reference.length > MAX_REFERENCE)
          errors.push({
            path: `/items/${at}/reference`,
            in: 'body',
            message: `row ${count}: longer than ${MAX_REFERENCE} characters`,
          });
        if (identityLast3 !== null && !LAST3.test(identityLast3))
          errors.push({
            path: `/items/${at}/identityLast3`,
            in: 'body',
            message: `row ${count}: must be three digits`,
          });
      }
      items.push({ hesCode, reference, identityLast3 });
    }
  } catch (err) {
    if (err instanceof ApiProblem) throw err;
    if (err instanceof CsvError) {
      const line = typeof err.lines === 'number' ? ` at line ${err.lines}` : '';
      throw new ApiProblem('CSV_INVALID', { detail: `Malformed CSV (${err.code})${line}`, cause: err });
    }
    throw err;
  } finally {
    await feeding;
    // Whatever the client still sends after an early error is read and discarded.
    source.resume();
  }
  if (!columns) throw new ApiProblem('BATCH_EMPTY', { detail: 'The CSV has no header row and no items' });
  if (count > limits.maxItems) throw tooLarge(count, limits.maxItems);
  if (errors.length > 0)
    throw new ApiProblem('VALIDATION_FAILED', {
      detail: 'Some roster lines are invalid; see errors',
      errors,
    });
  return items;
}
