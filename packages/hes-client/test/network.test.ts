import diagnostics from 'node:diagnostics_channel';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import {
  HesAbortedError,
  HesClient,
  type HesClientOptions,
  HesConnectionError,
  HesServerError,
  HesTimeoutError,
} from '../src/index.js';
import { type Handler, startServer, type TestServer } from './server.js';
import { BASIC, codesFrom, PASSWORD, rejectionOf, USERNAME, wireResult } from './support.js';

const CODE = 'A1B2C3D4E5';
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(handler: Handler, options: Partial<HesClientOptions> = {}) {
  const server = await startServer(handler);
  const client = new HesClient({
    baseUrl: server.baseUrl,
    username: USERNAME,
    password: PASSWORD,
    ...options,
  });
  // Reversed at cleanup: the server goes first, so a stuck connection cannot keep close() waiting.
  cleanups.push(
    () => client.close(),
    () => server.close(),
  );
  return { server, client };
}

const sendJson = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** Never answers: the response stays pending until the client gives up or the server closes. */
const hold: Handler = () => {};

describe('against a real HTTP server', () => {
  it('sends the request the Ministry expects and reads the answer', async () => {
    const { server, client } = await setup((_req, res) => sendJson(res, 200, wireResult()));
    const result = await client.checkHesCode('a1b2-c3d4-e5');
    expect(result.healthStatus).toBe('RISKLESS');
    const [req] = server.received as [TestServer['received'][number]];
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/services/g2g/test/saglik/hes/check-hes-code');
    expect(req.headers.authorization).toBe(BASIC);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers.accept).toBe('application/json');
    expect(req.headers['user-agent']).toBe('hes-gateway/0.1');
    expect(req.body).toBe('{"hes_code":"A1B2C3D4E5"}');
  });

  it('headers timeout → HesTimeoutError', async () => {
    const { server, client } = await setup(hold, { headersTimeoutMs: 100 });
    const error = await rejectionOf(client.checkHesCode(CODE));
    expect(error).toBeInstanceOf(HesTimeoutError);
    expect(error).toMatchObject({
      code: 'HES_ERR_TIMEOUT',
      category: 'transient',
      endpoint: 'check-hes-code',
    });
    expect((error.cause as { code?: string }).code).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(server.received).toHaveLength(1);
  });

  it('body timeout (a body that stops half-way) → HesTimeoutError', async () => {
    const { client } = await setup(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
        res.write('{"current_health_status":"RISK');
      },
      { bodyTimeoutMs: 100 },
    );
    const error = await rejectionOf(client.checkHesCode(CODE));
    expect(error).toBeInstanceOf(HesTimeoutError);
    expect((error.cause as { code?: string }).code).toBe('UND_ERR_BODY_TIMEOUT');
  });

  it('a slow body that keeps flowing is read to the end', async () => {
    const body = JSON.stringify(wireResult());
    const { client } = await setup(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        let i = 0;
        const drip = (): void => {
          if (i >= body.length) {
            res.end();
            return;
          }
          res.write(body.slice(i, i + 20));
          i += 20;
          setTimeout(drip, 10);
        };
        drip();
      },
      { bodyTimeoutMs: 200 },
    );
    await expect(client.checkHesCode(CODE)).resolves.toMatchObject({ healthStatus: 'RISKLESS' });
  });

  it('the server destroying the socket → HesConnectionError', async () => {
    const { client } = await setup((_req, res) => res.socket?.destroy());
    const error = await rejectionOf(client.checkHesCode(CODE));
    expect(error).toBeInstanceOf(HesConnectionError);
    expect(error).toMatchObject({ code: 'HES_ERR_CONNECTION', category: 'transient' });
    expect(['UND_ERR_SOCKET', 'ECONNRESET']).toContain((error.cause as { code?: string }).code);
  });

  it('a TCP reset (ECONNRESET) → HesConnectionError', async () => {
    const { client } = await setup((_req, res) => res.socket?.resetAndDestroy());
    const error = await rejectionOf(client.checkHesCode(CODE));
    expect(error).toBeInstanceOf(HesConnectionError);
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain((error.cause as { code?: string }).code);
  });

  it('a reset half-way through the body → HesConnectionError', async () => {
    const { client } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"current_health_status":', () => res.socket?.resetAndDestroy());
    });
    const error = await rejectionOf(client.checkHesCode(CODE));
    expect(error).toBeInstanceOf(HesConnectionError);
  });

  it('nobody listening (ECONNREFUSED) → HesConnectionError', async () => {
    const server = await startServer(hold);
    await server.close();
    const client = new HesClient({ baseUrl: server.baseUrl, username: USERNAME, password: PASSWORD });
    cleanups.push(() => client.close());
    const error = await rejectionOf(client.checkHesCode(CODE));
    expect(error).toBeInstanceOf(HesConnectionError);
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('an HTML 503 → HesServerError with a short excerpt', async () => {
    const { client } = await setup((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end(
        `<html><head><title>503 Service Temporarily Unavailable</title></head><body>${'x'.repeat(5000)}</body></html>`,
      );
    });
    const error = await rejectionOf(client.checkHesCode(CODE));
    expect(error).toBeInstanceOf(HesServerError);
    expect(error.bodyExcerpt?.length).toBe(200);
  });
});

describe('abort', () => {
  it('an already aborted signal → HesAbortedError without a request', async () => {
    const { server, client } = await setup((_req, res) => sendJson(res, 200, wireResult()));
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    const error = await rejectionOf(client.checkHesCode(CODE, { signal: controller.signal }));
    expect(error).toBeInstanceOf(HesAbortedError);
    expect(error).toMatchObject({ code: 'HES_ERR_ABORTED', category: 'aborted' });
    expect((error.cause as Error).message).toBe('shutting down');
    const many = await rejectionOf(client.checkManyHesCodes([CODE], { signal: controller.signal }));
    expect(many).toBeInstanceOf(HesAbortedError);
    expect(server.received).toHaveLength(0);
  });

  it('aborting while waiting for the answer → HesAbortedError', async () => {
    const { server, client } = await setup(hold, { headersTimeoutMs: 10_000 });
    const controller = new AbortController();
    const pending = rejectionOf(client.checkHesCode(CODE, { signal: controller.signal }));
    await server.nextRequest();
    controller.abort();
    const error = await pending;
    expect(error).toBeInstanceOf(HesAbortedError);
    expect(error.code).toBe('HES_ERR_ABORTED');
  });

  it('aborting while the body streams in → HesAbortedError', async () => {
    const { client } = await setup(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
        res.write('{"current_health_status":');
      },
      { bodyTimeoutMs: 10_000 },
    );
    const controller = new AbortController();
    // undici publishes the moment response headers arrive; abort then, with the body still open.
    const channel = diagnostics.channel('undici:request:headers');
    const onHeaders = (): void => {
      setImmediate(() => controller.abort());
    };
    channel.subscribe(onHeaders);
    try {
      const error = await rejectionOf(client.checkHesCode(CODE, { signal: controller.signal }));
      expect(error).toBeInstanceOf(HesAbortedError);
    } finally {
      channel.unsubscribe(onHeaders);
    }
  });

  it('aborting checkManyHesCodes stops it after the call in flight', async () => {
    const { server, client } = await setup(hold, { headersTimeoutMs: 10_000 });
    const controller = new AbortController();
    const pending = rejectionOf(
      client.checkManyHesCodes(codesFrom('S', 1200), { signal: controller.signal }),
    );
    await server.nextRequest();
    controller.abort();
    expect(await pending).toBeInstanceOf(HesAbortedError);
    expect(server.received).toHaveLength(1);
  });
});

describe('connection handling', () => {
  it('reads every error body to the end so one keep-alive connection serves every call', {
    timeout: 10_000,
  }, async () => {
    const answers: [number, string, Record<string, string>][] = [
      [503, `<html>${'x'.repeat(64 * 1024)}</html>`, { 'content-type': 'text/html' }],
      [429, '{"errorKey":"ratelimit.exceeded"}', { 'retry-after': '1' }],
      [400, '{"errorKey":"hescodenotfound"}', {}],
      [401, '{"title":"Unauthorized"}', {}],
      [404, 'no such endpoint', {}],
      [200, '<html>maintenance</html>', {}],
      [200, JSON.stringify(wireResult()), {}],
    ];
    let i = 0;
    const { server, client } = await setup(
      (_req, res) => {
        const [status, body, headers] = answers[i++]!;
        res.writeHead(status, headers);
        res.end(body);
      },
      { connections: 1, bodyTimeoutMs: 2_000, headersTimeoutMs: 2_000 },
    );
    const codes: string[] = [];
    for (let n = 0; n < answers.length - 1; n++) {
      codes.push(String((await rejectionOf(client.checkHesCode(CODE))).code));
    }
    expect(codes).toEqual([
      'HES_ERR_SERVER',
      'HES_ERR_THROTTLED',
      'HES_ERR_BUSINESS',
      'HES_ERR_CREDENTIALS',
      'HES_ERR_PROTOCOL',
      'HES_ERR_PROTOCOL',
    ]);
    await expect(client.checkHesCode(CODE)).resolves.toMatchObject({ healthStatus: 'RISKLESS' });
    expect(server.connections).toHaveLength(1);
  });

  it('runs bulk calls concurrently up to `concurrency`', async () => {
    const pending: (() => void)[] = [];
    let maxInFlight = 0;
    const { client } = await setup((req, res) => {
      const codes = (JSON.parse(req.body) as { hes_code: string }[]).map((item) => item.hes_code);
      pending.push(() =>
        sendJson(res, 200, {
          success_map: {},
          unsuccess_map: Object.fromEntries(codes.map((c) => [c, 'hescodenotfound'])),
        }),
      );
      maxInFlight = Math.max(maxInFlight, pending.length);
      // Answer only once two calls are in flight: with concurrency 1 this would never finish.
      if (pending.length === 2) for (const answer of pending.splice(0)) answer();
    });
    const entries = await client.checkManyHesCodes(codesFrom('N', 1000), { concurrency: 2 });
    expect(maxInFlight).toBe(2);
    expect(entries.filter((entry) => !entry.ok && entry.reason === 'NOT_FOUND')).toHaveLength(1000);
  });

  it('close() waits for the call in flight, closes the connections and refuses new calls', async () => {
    const { server, client } = await setup((_req, res) => sendJson(res, 200, wireResult()));
    await client.checkHesCode(CODE);
    const socket = server.connections[0]!;
    const socketClosed = once(socket, 'close');
    await client.close();
    await socketClosed;
    expect(socket.destroyed).toBe(true);
    const error = await rejectionOf(client.checkHesCode(CODE));
    expect(error).toBeInstanceOf(HesConnectionError);
    expect(server.received).toHaveLength(1);
  });
});
