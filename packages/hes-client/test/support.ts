import { type Dispatcher, MockAgent } from 'undici';
import { HES_BASE_URLS, HesClient, type HesClientOptions, type HesError } from '../src/index.js';

export const ORIGIN = 'https://hesservis.turkiye.gov.tr';
export const TEST_PREFIX = '/services/g2g/test/saglik/hes/';
export const LIVE_PREFIX = '/services/g2g/saglik/hes/';
export const USERNAME = 'kurum-g2g';
export const PASSWORD = 'p@ss:wörd';
/** base64("kurum-g2g:p@ss:wörd"), the password encoded as UTF-8. */
export const BASIC = `Basic ${Buffer.from('kurum-g2g:p@ss:wörd', 'utf8').toString('base64')}`;

export interface RecordedCall {
  path: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

export interface MockMinistry {
  agent: MockAgent;
  calls: RecordedCall[];
  /** Answers the next `times` POSTs to `endpoint` (under `prefix`) with `answer(requestBody)`. */
  on(
    endpoint: string,
    answer: (body: unknown) => {
      statusCode: number;
      data?: object | string;
      headers?: Record<string, string>;
    },
    options?: { times?: number; prefix?: string },
  ): void;
  client(overrides?: Partial<HesClientOptions>): HesClient;
}

export function mockMinistry(): MockMinistry {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const calls: RecordedCall[] = [];
  return {
    agent,
    calls,
    on(endpoint, answer, { times = 1, prefix = TEST_PREFIX } = {}) {
      agent
        .get(ORIGIN)
        .intercept({ path: prefix + endpoint, method: 'POST' })
        .reply((opts) => {
          const body = JSON.parse(String(opts.body));
          calls.push({
            path: opts.path,
            method: opts.method,
            headers: { ...(opts.headers as Record<string, string>) },
            body,
          });
          const { statusCode, data, headers } = answer(body);
          return { statusCode, data: data ?? '', responseOptions: { headers: headers ?? {} } };
        })
        .times(times);
    },
    client(overrides = {}) {
      return new HesClient({
        baseUrl: HES_BASE_URLS.test,
        username: USERNAME,
        password: PASSWORD,
        dispatcher: agent as Dispatcher,
        ...overrides,
      });
    },
  };
}

export const json = (data: object, statusCode = 200) => ({
  statusCode,
  data,
  headers: { 'content-type': 'application/json' },
});

/** A check-hes-code answer as the Ministry sends it. */
export const wireResult = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  current_health_status: 'RISKLESS',
  expiration_date: '2070-12-30T13',
  masked_identity_number: '********792',
  masked_firstname: 'DE****',
  masked_lastname: 'DE****',
  ...overrides,
});

export const wirePlus = (overrides: Record<string, unknown> = {}): Record<string, unknown> =>
  wireResult({
    is_vaccinated: true,
    is_immune: 'false',
    is_test_data_shared: 'null',
    last_negative_test_date: '2021-08-09T11:51:30.597Z',
    ...overrides,
  });

/** The rejection of `promise`; fails the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<HesError & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as HesError & Record<string, unknown>;
  }
  throw new Error('expected the call to reject');
}

/** `count` distinct valid codes, deterministic: C000000000, C000000001, … */
export const codesFrom = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(10 - prefix.length, '0')}`);
