/**
 * The soak's child processes (sandbox, API, workers), started as production starts them (TypeScript entry
 * under tsx, configuration from the environment only). Unlike bench/lib/stack.ts, which keeps a short tail,
 * every line a process writes is kept: the privacy audit scans all of them for submitted codes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from '../lib/stack.js';

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Every stdout and stderr line, in arrival order. */
  readonly lines: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** Resolves with the first line (past or future) containing `needle`. */
  waitForLine(needle: string, timeoutMs: number): Promise<string>;
  /** Sends `signal`; after `graceMs` without an exit, SIGKILL. Resolves when the process is gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ escalated: boolean; ms: number }>;
}

export function spawnService(name: string, entry: string, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(ROOT, entry)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<(line: string) => void>();
  const onLine = (line: string) => {
    lines.push(line);
    for (const w of waiters) w(line);
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );
  const tail = () => lines.slice(-30).join('\n');

  return {
    name,
    child,
    pid: child.pid!,
    lines,
    exited,
    alive: () => !done,
    waitForLine(needle, timeoutMs) {
      const seen = lines.find((l) => l.includes(needle));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const finish = (err: Error | null, line?: string) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolve(line!);
        };
        const check = (line: string) => {
          if (line.includes(needle)) finish(null, line);
        };
        const timer = setTimeout(
          () => finish(new Error(`${name}: no "${needle}" within ${timeoutMs} ms:\n${tail()}`)),
          timeoutMs,
        );
        waiters.add(check);
        void exited.then(({ code, signal }) =>
          finish(new Error(`${name} exited (${code ?? signal}) before "${needle}":\n${tail()}`)),
        );
      });
    },
    async stop(signal = 'SIGTERM', graceMs = 30_000) {
      const t0 = performance.now();
      if (done) return { escalated: false, ms: 0 };
      child.kill(signal);
      let escalated = false;
      const timer = setTimeout(() => {
        escalated = true;
        child.kill('SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
      return { escalated, ms: Math.round(performance.now() - t0) };
    },
  };
}
