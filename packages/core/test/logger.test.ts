import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logging/logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, logger: createLogger({ name: 'test', level: 'debug', destination }) };
}

describe('logger redaction (SPEC §6)', () => {
  it('removes HES codes, credentials, API keys and Authorization headers wherever they are logged', () => {
    const { lines, logger } = capture();
    logger.info({ hesCode: 'A1B2C3D4E5' }, 'top-level code');
    logger.info({ check: { hesCode: 'A1B2C3D4E5', hes_code: 'A1B2C3D4E5' } }, 'nested code');
    logger.info({ req: { headers: { authorization: 'Bearer hes_secretkey123', cookie: 'a=b' } } }, 'request');
    logger.info(
      { upstream: { password: 'g2g-pass' }, apiKey: 'hes_k', authorization: 'Basic Zm9vOmJhcg==' },
      'creds',
    );
    logger.info({ body: { items: [{ hesCode: 'A1B2C3D4E5' }] } }, 'a body');
    const text = lines.join('\n');
    for (const secret of ['A1B2C3D4E5', 'hes_secretkey123', 'g2g-pass', 'hes_k"', 'Zm9vOmJhcg==', 'a=b']) {
      expect(text).not.toContain(secret);
    }
    expect(lines).toHaveLength(5);
    expect(JSON.parse(lines[0]!).hesCode).toBe('[REDACTED]');
    expect(JSON.parse(lines[2]!).req.headers.authorization).toBe('[REDACTED]');
  });

  it('writes JSON lines with an ISO time, a level label and the service name', () => {
    const { lines, logger } = capture();
    logger.warn({ checkId: 'c-1' }, 'hello');
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ level: 'warn', service: 'test', checkId: 'c-1', msg: 'hello' });
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});
