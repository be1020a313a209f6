import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  /** The body exactly as received: what a receiver must verify. */
  rawBody: string;
  path: string;
}

/** A status to answer, or `hang` to keep the request open until the receiver closes. */
export type Reply = number | 'hang';
export type Responder = (request: ReceivedWebhook, index: number) => Reply;

/** A real HTTP receiver on 127.0.0.1: records every POST, answers as `respond` says. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  respond: Responder = () => 200;
  readonly #server: Server;
  readonly #hanging = new Set<ServerResponse>();

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const got: ReceivedWebhook = {
          headers: req.headers,
          rawBody: Buffer.concat(chunks).toString('utf8'),
          path: req.url ?? '/',
        };
        const index = receiver.received.push(got) - 1;
        const reply = receiver.respond(got, index);
        if (reply === 'hang') {
          receiver.#hanging.add(res);
          return;
        }
        res.writeHead(reply, { 'content-type': 'text/plain' }).end(`answer ${reply}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}${path}`;
  }

  /** Drops the requests held open by `hang` (their sockets are destroyed). */
  releaseHanging(): void {
    for (const res of this.#hanging) res.socket?.destroy();
    this.#hanging.clear();
  }

  async close(): Promise<void> {
    this.releaseHanging();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
