import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { UsageError } from '../io.js';
import type { RequestOptions } from './client.js';

/** A roster file as a streamed request body: CSV or JSON by its extension, length from stat. */
export async function fileBody(file: string, usage: string): Promise<RequestOptions> {
  let contentType: string;
  switch (extname(file).toLowerCase()) {
    case '.csv':
      contentType = 'text/csv';
      break;
    case '.json':
      contentType = 'application/json';
      break;
    default:
      throw new UsageError(`Cannot tell the format of "${file}": name it .csv or .json`, usage);
  }
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'not a file' });
    size = st.size;
  } catch (err) {
    throw new UsageError(`Cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? err}`, usage);
  }
  return { stream: createReadStream(file), contentType, contentLength: size };
}
