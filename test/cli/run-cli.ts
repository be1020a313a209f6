import { runCliProcess } from '@hes/core/testing';
import type { CliIo } from '../../packages/core/src/cli/io.js';
import { runHes } from '../../packages/core/src/cli/program.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout split in lines, without the trailing empty one. */
  lines: string[];
}

export interface InProcessOptions {
  env: Record<string, string>;
  /** Pretend stderr is a terminal: the bar is drawn with \r into `stderr`. */
  tty?: boolean;
  /** Pretend stdout is a terminal (hes watch redraws its table in place). */
  stdoutTty?: boolean;
  interrupt?: AbortSignal;
}

/** runHes with a captured io: raw writes and lines land in the same strings, in order. */
export async function runInProcess(argv: string[], options: InProcessOptions): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (line) => {
      stdout += `${line}\n`;
    },
    stderr: (line) => {
      stderr += `${line}\n`;
    },
    env: options.env,
    writeStdout: async (chunk) => {
      stdout += Buffer.from(chunk).toString('utf8');
    },
    writeStderr: (text) => {
      stderr += text;
    },
    stderrIsTTY: options.tty === true,
    stdoutIsTTY: options.stdoutTty === true,
    columns: 100,
    ...(options.interrupt ? { interrupt: options.interrupt } : {}),
  };
  const code = await runHes(argv, io);
  return { code, stdout, stderr, lines: stdout.trimEnd().split('\n') };
}

/** The real entry point (`pnpm hes …`) as a child process; its stderr is a pipe, not a terminal. */
export function runChild(argv: string[], env: Record<string, string>): Promise<CliRun> {
  return runCliProcess('hes', argv, env);
}
