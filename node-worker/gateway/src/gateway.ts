import uWS from "uWebSockets.js";
import { timingSafeEqual } from "@framewire/shared";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "pino";
import { createJobChannels, type Listener } from "./job-channels";
import { createGatewayMetrics } from "./metrics";
import { checkProgressToken } from "./token-check";

const bearerMatches = (header: string, token: string) =>
  timingSafeEqual(header.startsWith("Bearer ") ? header.slice(7).trim() : "", token);

/** WebSocket close codes the gateway uses (4xxx: application codes, RFC 6455 §7.4.2). */
export const closeCodes = {
  done: 1000,
  invalidToken: 4401,
  wrongJob: 4403,
  expiredToken: 4410,
  /** The client read too slowly; progress is latest-state, so it may reconnect and lose nothing. */
  slowConsumer: 4420,
  tooManyConnections: 4429,
} as const;

interface SocketData {
  jobId: string;
  ip: string;
  refusal: { code: number; reason: string } | null;
  listener: Listener | null;
}

export interface Gateway {
  port: number;
  close(): void;
}

const jobPath = /^\/v1\/jobs\/(job_[0-9a-z]{26})\/progress$/;

/**
 * The progress gateway: browsers connect to `/v1/jobs/<id>/progress?token=…` and receive the last
 * known progress, every tick, then the final state and a normal close.
 */
export async function startGateway(options: {
  nc: NatsConnection;
  progressKv: KV;
  tokenSecret: string;
  host: string;
  port: number;
  logger: Logger;
  /** Open sockets allowed per client address (bounds what one client can make the gateway hold). */
  maxConnectionsPerIp?: number;
  /**
   * Seconds a socket may be silent. The gateway pings a quiet socket (so proxies keep a job with
   * slow progress open) and closes one that answers nothing for about twice this. uWS: 0 or ≥ 8.
   */
  idleTimeoutSec?: number;
  /** Bearer token GET /metrics requires (FW_METRICS_TOKEN); absent: open. */
  metricsToken?: string | undefined;
}): Promise<Gateway> {
  const { logger } = options;
  const maxPerIp = options.maxConnectionsPerIp ?? 100;
  const maxBackpressure = 64 * 1024;
  const app = uWS.App();
  // Read only when /metrics is scraped, after `channels` exists.
  const metrics = createGatewayMetrics(() => channels.size);
  // Live ticks go out as one uWS topic publish per message (topic = job id): uWS copies it to every
  // subscribed socket in C++, skipping sockets over maxBackpressure. The final state is sent per
  // socket (a direct send first flushes what the topic queued for it, so order is kept), then
  // the socket is closed.
  const channels = createJobChannels(options.nc, options.progressKv, {
    broadcast(jobId, message) {
      metrics.sent.inc(app.numSubscribers(jobId));
      app.publish(jobId, message, false);
    },
  });
  const perIp = new Map<string, number>();
  const openSockets = new Set<uWS.WebSocket<SocketData>>();
  // Progress is latest-state: a client too slow to take maxBackpressure of it is disconnected
  // (4420) rather than buffered for. uWS skips it on publish; this sweep finds it and closes it.
  const slowSweep = setInterval(() => {
    for (const ws of openSockets) {
      if (ws.getBufferedAmount() < maxBackpressure) continue;
      metrics.dropped.inc();
      const { listener } = ws.getUserData();
      if (listener) listener.deliver = () => {};
      openSockets.delete(ws);
      ws.end(closeCodes.slowConsumer, "too slow");
    }
  }, 1_000);
  slowSweep.unref();

  app.get("/health", (res) => {
    res
      .writeHeader("content-type", "application/json")
      .end(JSON.stringify({ status: "ok", jobs: channels.size }));
  });
  app.get("/metrics", (res, req) => {
    // FW_METRICS_TOKEN: read the header now (uWS requests don't outlive this call).
    if (options.metricsToken && !bearerMatches(req.getHeader("authorization"), options.metricsToken)) {
      res.writeStatus("401 Unauthorized").writeHeader("www-authenticate", 'Bearer realm="metrics"').end();
      return;
    }
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    void metrics.registry.metrics().then((text) => {
      if (aborted) return;
      res.cork(() => res.writeHeader("content-type", metrics.registry.contentType).end(text));
    });
  });

  app.ws<SocketData>("/v1/jobs/*", {
    idleTimeout: options.idleTimeoutSec ?? 60,
    sendPingsAutomatically: true,
    maxPayloadLength: 1024,
    // Progress messages are latest-state: a client too slow to take 64 KiB of them is dropped.
    maxBackpressure,

    upgrade: (res, req, context) => {
      const url = req.getUrl();
      const token = req.getQuery("token") ?? "";
      const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
      const jobId = jobPath.exec(url)?.[1] ?? "";
      let refusal: SocketData["refusal"] = null;
      if (!jobId) refusal = { code: closeCodes.wrongJob, reason: "unknown path" };
      else if ((perIp.get(ip) ?? 0) >= maxPerIp) {
        refusal = { code: closeCodes.tooManyConnections, reason: "too many connections from this address" };
      } else {
        const check = checkProgressToken(options.tokenSecret, token);
        if (!check.ok) {
          refusal =
            check.reason === "expired"
              ? { code: closeCodes.expiredToken, reason: "token expired" }
              : { code: closeCodes.invalidToken, reason: "invalid token" };
        } else if (check.claims.job !== jobId) {
          refusal = { code: closeCodes.wrongJob, reason: "token is for another job" };
        }
      }
      // Refused sockets are upgraded too, then closed with a code the client can act on.
      res.upgrade<SocketData>(
        { jobId, ip, refusal, listener: null },
        req.getHeader("sec-websocket-key"),
        req.getHeader("sec-websocket-protocol"),
        req.getHeader("sec-websocket-extensions"),
        context,
      );
    },

    open: (ws) => {
      const data = ws.getUserData();
      if (data.refusal) {
        metrics.refused.inc({ code: String(data.refusal.code) });
        ws.end(data.refusal.code, data.refusal.reason);
        return;
      }
      perIp.set(data.ip, (perIp.get(data.ip) ?? 0) + 1);
      metrics.connections.inc();
      openSockets.add(ws);
      let closed = false;
      const listener: Listener = {
        deliver(message, final) {
          if (closed) return;
          let status = 0;
          ws.cork(() => {
            status = ws.send(message, false);
          });
          if (status === 2) metrics.dropped.inc();
          else metrics.sent.inc();
          // end() outside the cork: a close frame queued in a cork buffer can be lost when the
          // socket shuts down before the buffer is flushed (clients then see 1006).
          if (final) {
            closed = true;
            openSockets.delete(ws);
            ws.end(closeCodes.done, "job finished");
          } else if (status === 2) {
            closed = true;
            openSockets.delete(ws);
            ws.end(closeCodes.slowConsumer, "too slow");
          }
        },
        live() {
          if (!closed) ws.subscribe(data.jobId);
        },
      };
      data.listener = listener;
      channels
        .join(data.jobId, listener)
        .catch((error: unknown) => logger.warn({ err: error }, "gateway:join:failed"));
    },

    close: (ws) => {
      openSockets.delete(ws);
      const data = ws.getUserData();
      if (data.refusal) return;
      const open = (perIp.get(data.ip) ?? 1) - 1;
      if (open > 0) perIp.set(data.ip, open);
      else perIp.delete(data.ip);
      metrics.connections.dec();
      if (data.listener) {
        // Mark closed first: a delivery racing the close must not touch the dead socket.
        const listener = data.listener;
        listener.deliver = () => {};
        channels.leave(data.jobId, listener);
      }
    },
  });

  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen(options.host, options.port, (socket) => {
      if (socket) resolve(socket);
      else reject(new Error(`the gateway could not listen on ${options.host}:${options.port}`));
    });
  });
  const port = uWS.us_socket_local_port(listenSocket);
  logger.info({ port }, "gateway:listening");
  return {
    port,
    close() {
      clearInterval(slowSweep);
      uWS.us_listen_socket_close(listenSocket);
    },
  };
}
