import { describe, expect, it } from 'vitest';
import { generateSandboxCodes } from '../src/dataset.js';
import { createSandboxLogger } from '../src/logger.js';
import { basic, PASSWORD, startSandbox, USERNAME } from './helpers.js';

function capture(): { lines: string[]; write: (line: string) => void } {
  const lines: string[] = [];
  return { lines, write: (line) => void lines.push(line) };
}

describe('logging', () => {
  it('never logs a full HES code or the Authorization header', async () => {
    const sink = capture();
    const logger = createSandboxLogger({ level: 'trace', destination: sink });
    const sandbox = await startSandbox({ logger });
    const codes = generateSandboxCodes('RISKLESS', 3, 55);
    const [single, bulk, visitor] = codes as [string, string, string];
    await sandbox.call('check-hes-code', { hes_code: single });
    await sandbox.call('check-hes-codes', [{ hes_code: bulk }]);
    await sandbox.call('check-visitor-hes-code', {
      hes_code: visitor,
      city: 'A',
      district: 'B',
      explicit_address: 'C',
    });
    await sandbox.call('check-hes-code', { hes_code: single }, { auth: null });
    await sandbox.call('check-hes-code', undefined, { raw: `{"hes_code":"${single}"` });
    await sandbox.close();

    const all = sink.lines.join('');
    expect(sink.lines.length).toBeGreaterThan(5);
    for (const code of codes) expect(all).not.toContain(code);
    expect(all).not.toContain(basic(USERNAME, PASSWORD).slice(6));
    expect(all).not.toContain(PASSWORD);
    expect(all).toContain(`"code":"${single.slice(0, 2)}******${single.slice(-2)}"`);
  });

  it('redacts code and credential fields if they ever reach a log call', () => {
    const sink = capture();
    const logger = createSandboxLogger({ level: 'info', destination: sink });
    logger.info(
      { hes_code: 'A1B2C3D4E5', req: { headers: { authorization: 'Basic eA==' } }, body: { x: 1 } },
      'x',
    );
    const line = JSON.parse(sink.lines[0]!) as Record<string, unknown>;
    expect(line.hes_code).toBe('[REDACTED]');
    expect(line.body).toBe('[REDACTED]');
    expect(JSON.stringify(line)).not.toContain('eA==');
  });
});
