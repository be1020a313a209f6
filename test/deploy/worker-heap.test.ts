import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workerNodeFlags } from '../../bench/lib/stack.js';
import { ROOT, read } from './deploy-files.js';

/** The worker stage's NODE_OPTIONS in the Dockerfile. */
function dockerWorkerNodeOptions(): string {
  const dockerfile = read(join(ROOT, 'Dockerfile'));
  const stage = dockerfile.slice(dockerfile.indexOf('FROM runtime AS worker'));
  const next = stage.indexOf('\nFROM ', 1);
  const match = /NODE_OPTIONS="([^"]*)"/.exec(next === -1 ? stage : stage.slice(0, next));
  if (!match) throw new Error('the worker stage sets no NODE_OPTIONS');
  return match[1]!;
}

describe('worker heap limits', () => {
  it('are the same for `pnpm start:worker`, the worker image and the benchmark', () => {
    const flags = workerNodeFlags();
    expect(flags).toEqual(['--max-old-space-size=160', '--max-semi-space-size=8']);
    const image = dockerWorkerNodeOptions()
      .split(/\s+/)
      .filter((f) => f.startsWith('--max-'));
    expect(image).toEqual(flags);
  });

  it('are flags Node accepts, on the command line and in NODE_OPTIONS, and cap the heap under 256 MiB', () => {
    const probe = 'console.log(require("node:v8").getHeapStatistics().heap_size_limit)';
    const direct = spawnSync(process.execPath, [...workerNodeFlags(), '-e', probe], { encoding: 'utf8' });
    expect(direct.status, direct.stderr).toBe(0);
    const viaEnv = spawnSync(process.execPath, ['-e', probe], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: dockerWorkerNodeOptions() },
    });
    expect(viaEnv.status, viaEnv.stderr).toBe(0);
    const limitMiB = Number(direct.stdout) / 2 ** 20;
    expect(Number(viaEnv.stdout)).toBe(Number(direct.stdout));
    expect(limitMiB).toBeGreaterThan(160);
    expect(limitMiB).toBeLessThan(256);
  });
});
