import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchView } from '../presenters/batch-view.js';
import type { ApiClient } from './api/client.js';
import { ApiProblemError, ApiUnreachableError } from './api/errors.js';
import type { CliIo } from './io.js';
import { doneOf, figures, progressBar, progressLine, RateMeter } from './progress.js';

export interface FollowOptions {
  /** Between two polls of GET /v1/batches/:id. */
  intervalMs?: number;
  /** Without a terminal: at most one plain line this often (and one at the end). */
  lineEveryMs?: number;
  /** Consecutive failed polls (API restarting, 429, 503) tolerated before giving up. */
  maxPollFailures?: number;
  now?: () => number;
}

export interface FollowResult {
  batch: BatchView;
  interrupted: boolean;
}

/** 429, 503 and an unreachable API are waited out while polling; anything else ends the command. */
const transient = (err: unknown) =>
  err instanceof ApiUnreachableError ||
  (err instanceof ApiProblemError && (err.status === 429 || err.status === 502 || err.status === 503));

/**
 * Polls a batch until every check is final, drawing its progress on stderr: a bar redrawn in place
 * on a terminal, plain periodic lines otherwise. Ctrl-C (io.interrupt) stops the watching only.
 */
export async function followBatch(
  client: ApiClient,
  first: BatchView,
  io: CliIo,
  options: FollowOptions = {},
): Promise<FollowResult> {
  const intervalMs = options.intervalMs ?? 500;
  const lineEveryMs = options.lineEveryMs ?? 2_000;
  const maxPollFailures = options.maxPollFailures ?? 20;
  const now = options.now ?? Date.now;
  const tty = io.stderrIsTTY === true && io.writeStderr !== undefined;
  const meter = new RateMeter();
  let lastLineAt = Number.NEGATIVE_INFINITY;
  let lastLineDone = -1;
  let batch = first;
  let failures = 0;

  const draw = (final: boolean) => {
    const t = now();
    meter.observe(t, doneOf(batch));
    const f = figures(batch, meter.perSecond());
    if (tty) {
      // \r and erase-to-end-of-line: one line redrawn in place; a newline only when finished.
      io.writeStderr!(`\r${progressBar(f, io.columns)}\x1b[K${final ? '\n' : ''}`);
    } else if (final || (t - lastLineAt >= lineEveryMs && f.done !== lastLineDone)) {
      io.stderr(progressLine(f));
      lastLineAt = t;
      lastLineDone = f.done;
    }
  };

  const path = `/v1/batches/${encodeURIComponent(first.id)}`;
  for (;;) {
    const finished = batch.status === 'completed';
    draw(finished);
    if (finished) return { batch, interrupted: false };
    let wait = intervalMs;
    try {
      await sleep(wait, undefined, { signal: io.interrupt });
      // Not tied to Ctrl-C: undici keeps an abort listener per request until the body is collected.
      batch = await client.get<BatchView>(path);
      failures = 0;
    } catch (err) {
      if ((err as Error).name === 'AbortError') {
        if (tty) io.writeStderr!('\n');
        return { batch, interrupted: true };
      }
      if (!transient(err) || ++failures > maxPollFailures) {
        if (tty) io.writeStderr!('\n');
        throw err;
      }
      wait = (err as ApiProblemError).retryAfterMs ?? intervalMs * 2;
      io.stderr(`${tty ? '\n' : ''}warning: ${(err as Error).message}; retrying`);
      await sleep(wait, undefined, { signal: io.interrupt }).catch(() => {});
    }
  }
}
