import { DEFAULT_DATABASE_URL } from '../config/env.js';
import { redactUrl } from '../db/database-url.js';

/** Where a command writes and what it reads, so commands run the same in tests and in a terminal. */
export interface CliIo {
  stdout(line: string): void;
  stderr(line: string): void;
  env: NodeJS.ProcessEnv;
  /** Raw bytes to stdout (an export), resolving once they are accepted: backpressure, not buffering. */
  writeStdout?(chunk: Uint8Array): Promise<void>;
  /** Raw text to stderr without a newline: the progress bar redraws its line with `\r`. */
  writeStderr?(text: string): void;
  /** Whether stderr is a terminal (a live bar) or a pipe/file (plain periodic lines). */
  stderrIsTTY?: boolean;
  stdoutIsTTY?: boolean;
  /** Terminal width for the bar. */
  columns?: number;
  /** Aborted on Ctrl-C (SIGINT) while a command waits on the API. */
  interrupt?: AbortSignal;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Wrong command line: the message and the command's usage go to stderr, exit code 2. */
export class UsageError extends Error {
  readonly code = 'CLI_USAGE';
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export function processIo(): CliIo {
  let interrupt: AbortSignal | undefined;
  return {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    writeStdout: (chunk) =>
      new Promise((resolve, reject) => {
        // EPIPE (`hes export … | head`) arrives as an error on the stream, not from write().
        process.stdout.write(chunk, (err) => (err ? reject(err) : resolve()));
      }),
    writeStderr: (text) => process.stderr.write(text),
    stderrIsTTY: process.stderr.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
    columns: process.stderr.columns,
    // The handler is installed on first use, so commands that never wait keep Node's default Ctrl-C.
    get interrupt() {
      if (!interrupt) {
        const controller = new AbortController();
        process.once('SIGINT', () => controller.abort());
        interrupt = controller.signal;
      }
      return interrupt;
    },
  };
}

/** DATABASE_URL, empty counting as unset (SPEC §7). */
export function databaseUrlFrom(env: NodeJS.ProcessEnv): string {
  return env.DATABASE_URL || DEFAULT_DATABASE_URL;
}

/**
 * One line for an operator. Prisma puts the useful sentence last after a call-site excerpt; Node's
 * happy-eyeballs connect errors are AggregateErrors with an empty message.
 */
export function oneLine(err: unknown): string {
  if (err instanceof AggregateError && err.message === '' && err.errors.length > 0)
    return oneLine(err.errors[0]);
  const message = err instanceof Error ? err.message : String(err);
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const line = (/invocation/.test(lines[0] ?? '') ? lines.at(-1) : lines[0]) ?? 'unknown error';
  // Connection errors may echo the URL; never print its password.
  return line.replace(/postgres(?:ql)?:\/\/[^\s'"]+/g, (url) => redactUrl(url));
}
