import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../../packages/core/src/cli/io.js';
import { runHes } from '../../packages/core/src/cli/program.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

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
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', join(root, 'packages/core/src/cli/hes.ts'), ...argv],
      { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, lines: stdout.trimEnd().split('\n') }));
  });
}
