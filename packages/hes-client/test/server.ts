import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface TestServer {
  baseUrl: string;
  port: number;
  received: ReceivedRequest[];
  /** TCP connections accepted so far. */
  connections: Socket[];
  /** Resolves with the next request once its body has arrived (or at once if one is already waiting). */
  nextRequest(): Promise<ReceivedRequest>;
  close(): Promise<void>;
}

export type Handler = (req: ReceivedRequest, res: ServerResponse, raw: IncomingMessage) => void;

/** A real HTTP server on 127.0.0.1, port 0, for what a MockAgent cannot show honestly. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const received: ReceivedRequest[] = [];
  const connections: Socket[] = [];
  const waiting: ((req: ReceivedRequest) => void)[] = [];
  let seen = 0;
  const server: Server = createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (chunk: Buffer) => chunks.push(chunk));
    raw.on('end', () => {
      const req = {
        method: raw.method ?? '',
        url: raw.url ?? '',
        headers: raw.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(req);
      handler(req, res, raw);
      waiting.shift()?.(req);
    });
  });
  server.on('connection', (socket) => connections.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/services/g2g/test/saglik/hes/`,
    port,
    received,
    connections,
    nextRequest() {
      const index = seen++;
      const already = received[index];
      if (already) return Promise.resolve(already);
      return new Promise((resolve) => waiting.push(resolve));
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
