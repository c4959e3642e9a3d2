import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyWebhook, type WebhookCheck } from "@framewire/shared/client";

/**
 * Test fixture: a real HTTP receiver on loopback that checks every delivery with the client's
 * `verifyWebhook`, the way a customer's server would. Per path it can fail the first N requests
 * (500), always fail, or redirect.
 */
export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  verified: WebhookCheck;
  answered: number;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Behaviour of one path: fail its first `failFirst` requests, or redirect to `redirectTo`. */
  on(path: string, behaviour: { failFirst?: number; alwaysFail?: boolean; redirectTo?: string }): void;
  secret: string;
  close(): Promise<void>;
}

export async function startWebhookReceiver(host = "127.0.0.1"): Promise<WebhookReceiver> {
  const behaviours = new Map<string, { failFirst?: number; alwaysFail?: boolean; redirectTo?: string }>();
  const seen = new Map<string, number>();
  const received: ReceivedWebhook[] = [];
  const receiver: WebhookReceiver = {
    url: "",
    received,
    secret: "",
    on: (path, behaviour) => behaviours.set(path, behaviour),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const path = req.url ?? "/";
      const body = Buffer.concat(chunks);
      const verified = await verifyWebhook({
        body: new Uint8Array(body),
        signature: req.headers["framewire-signature"] as string | undefined,
        secret: receiver.secret,
      });
      const count = (seen.get(path) ?? 0) + 1;
      seen.set(path, count);
      const b = behaviours.get(path) ?? {};
      let answered = 200;
      if (b.redirectTo) answered = 302;
      else if (b.alwaysFail || count <= (b.failFirst ?? 0)) answered = 500;
      else if (!verified.ok) answered = 401;
      received.push({ path, headers: req.headers, body: body.toString("utf8"), verified, answered });
      res.writeHead(answered, b.redirectTo ? { location: b.redirectTo } : {});
      res.end(answered === 200 ? "ok" : "no");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  receiver.url = `http://${host}:${(server.address() as AddressInfo).port}`;
  return receiver;
}
