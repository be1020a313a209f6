import { describe, expect, it } from 'vitest';
import { loadSandboxConfig, SandboxConfigError } from '../src/config.js';
import { FAULTS_OFF } from '../src/faults.js';

const errorFor = (env: NodeJS.ProcessEnv): SandboxConfigError => {
  try {
    loadSandboxConfig(env);
  } catch (error) {
    if (error instanceof SandboxConfigError) return error;
    throw error;
  }
  throw new Error('expected a SandboxConfigError');
};

describe('loadSandboxConfig', () => {
  it('defaults to the dev credentials, 127.0.0.1:4010 and no faults', () => {
    expect(loadSandboxConfig({})).toEqual({
      host: '127.0.0.1',
      port: 4010,
      username: 'hes-sandbox',
      password: 'hes-sandbox-secret',
      logLevel: 'info',
      logPretty: false,
      faults: FAULTS_OFF,
    });
  });

  it('treats empty variables as unset', () => {
    expect(loadSandboxConfig({ HES_USERNAME: '', SANDBOX_PORT: '', SANDBOX_ERROR_RATE: '' })).toMatchObject({
      username: 'hes-sandbox',
      port: 4010,
      faults: { errorRate: 0 },
    });
  });

  it('reads every variable', () => {
    const config = loadSandboxConfig({
      HES_USERNAME: 'inst',
      HES_PASSWORD: 'p:w',
      SANDBOX_PORT: '0',
      SANDBOX_HOST: '0.0.0.0',
      LOG_LEVEL: 'debug',
      LOG_PRETTY: 'true',
      SANDBOX_LATENCY_MS: '50',
      SANDBOX_LATENCY_JITTER_MS: '10',
      SANDBOX_ERROR_RATE: '0.1',
      SANDBOX_RATE_LIMIT_RPS: '20',
      SANDBOX_RESET_RATE: '0.01',
      SANDBOX_SLOW_RATE: '0.05',
      SANDBOX_SLOW_MS: '20000',
      SANDBOX_FAULT_SEED: '42',
    });
    expect(config).toEqual({
      host: '0.0.0.0',
      port: 0,
      username: 'inst',
      password: 'p:w',
      logLevel: 'debug',
      logPretty: true,
      faults: {
        latencyMs: 50,
        latencyJitterMs: 10,
        errorRate: 0.1,
        rateLimitRps: 20,
        resetRate: 0.01,
        slowRate: 0.05,
        slowMs: 20_000,
        seed: 42,
      },
    });
  });

  it('names the offending variable in one message', () => {
    const cases: [NodeJS.ProcessEnv, string][] = [
      [{ SANDBOX_ERROR_RATE: '1.5' }, 'SANDBOX_ERROR_RATE'],
      [{ SANDBOX_RESET_RATE: '-0.1' }, 'SANDBOX_RESET_RATE'],
      [{ SANDBOX_SLOW_RATE: 'often' }, 'SANDBOX_SLOW_RATE'],
      [{ SANDBOX_PORT: '70000' }, 'SANDBOX_PORT'],
      [{ SANDBOX_PORT: 'http' }, 'SANDBOX_PORT'],
      [{ SANDBOX_LATENCY_MS: '-5' }, 'SANDBOX_LATENCY_MS'],
      [{ SANDBOX_LATENCY_JITTER_MS: '1.5' }, 'SANDBOX_LATENCY_JITTER_MS'],
      [{ SANDBOX_RATE_LIMIT_RPS: '2.5' }, 'SANDBOX_RATE_LIMIT_RPS'],
      [{ SANDBOX_SLOW_MS: 'forever' }, 'SANDBOX_SLOW_MS'],
      [{ SANDBOX_FAULT_SEED: '-1' }, 'SANDBOX_FAULT_SEED'],
      [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
      [{ HES_USERNAME: 'a:b' }, 'HES_USERNAME'],
    ];
    for (const [env, name] of cases) {
      const error = errorFor(env);
      expect(error.code).toBe('SANDBOX_CONFIG_INVALID');
      expect(error.message, name).toContain(name);
      expect(error.message).not.toContain('\n');
    }
  });

  it('never echoes a credential in the message', () => {
    expect(errorFor({ HES_USERNAME: 'secret:user' }).message).not.toContain('secret');
  });
});
