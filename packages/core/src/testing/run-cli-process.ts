import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is packages/core/src/testing/). */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export interface CliProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout split into lines, without the trailing newline. */
  lines: string[];
}

/**
 * A CLI entry point (`pnpm hes …`, `pnpm migrate`) as the user runs it: a child process from the
 * TypeScript sources, environment only, stderr a pipe rather than a terminal.
 */
export function runCliProcess(
  entry: 'hes' | 'migrate',
  args: readonly string[],
  env: Record<string, string>,
): Promise<CliProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', `packages/core/src/cli/${entry}.ts`, ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
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
