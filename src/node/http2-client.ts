/**
 * `connectHttp2(url)`: a WebSocket over HTTP/2 (RFC 8441) from node:http2. Opens an HTTP/2
 * session to the origin (TLS with ALPN h2 for wss://, h2c with prior knowledge for ws://),
 * waits for the server's SETTINGS to advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (§3: without it
 * an extended CONNECT must not be sent), sends the extended CONNECT (codec/handshake/http2.ts),
 * and on a 2xx runs a frames-only `Connection` over the stream with the same endpoint as
 * `connect()`. The session is closed when the WebSocket closes, unless it was given.
 */
import type * as http2 from "node:http2";
import * as net from "node:net";
import type * as tls from "node:tls";
import { buildExtendedConnect, validateExtendedConnectResponse } from "../../codec/handshake/http2.js";
import { ConnectionType } from "../../codec/constants.js";
import { Connection } from "../connection.js";
import { DEFAULT_HANDSHAKE_TIMEOUT } from "../runtime/endpoint-types.js";
import { ConnectionClosedError, HandshakeRejectedError, TimeoutError } from "../runtime/errors.js";
import { clientRequest, endpointConnectionOptions, parseWebSocketUrl } from "../runtime/glue.js";
import type { ConnectOptions } from "./client.js";
import { nodeHttp2 } from "./builtins.js";
import { nodePerMessageDeflate, useNodeAccelerations } from "./defaults.js";
import { WebSocketEndpoint, whenOpen } from "./endpoint.js";
import { headersFromRaw } from "./server.js";
import { toHttp2Headers } from "./http2.js";

export interface Http2ConnectOptions extends Omit<ConnectOptions, "tls"> {
  /** wss:// only: TLS options for the session (ca, rejectUnauthorized, …). */
  tls?: tls.ConnectionOptions;
  /** An HTTP/2 session to the same origin to open the stream on (it is then left open). */
  session?: http2.ClientHttp2Session;
}

/**
 * Open a WebSocket to `url` over HTTP/2 (RFC 8441). Resolves with the open endpoint; rejects
 * with an Error when the server does not advertise extended CONNECT, HandshakeRejectedError for
 * a non-2xx answer, RemoteProtocolError for an invalid acceptance, TimeoutError
 * (`handshakeTimeout`), or the session's error.
 */
export async function connectHttp2(url: string | URL, options: Http2ConnectOptions = {}): Promise<WebSocketEndpoint> {
  useNodeAccelerations();
  const target = parseWebSocketUrl(url);
  const sent = buildExtendedConnect(clientRequest(target, options, nodePerMessageDeflate), target.secure ? "https" : "http");
  const ownSession = options.session === undefined;
  const origin = `${target.secure ? "https" : "http"}://${target.host}`;
  const session =
    options.session ??
    nodeHttp2().connect(origin, {
      ...options.tls,
      // SNI takes a host name, never an IP address (RFC 6066 §3).
      servername: target.secure && net.isIP(target.hostname) === 0 ? target.hostname : undefined,
      ALPNProtocols: ["h2"],
    });
  const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  let stream: http2.ClientHttp2Stream | null = null;
  try {
    const response = await withTimeout(
      (async () => {
        await extendedConnectAllowed(session);
        stream = session.request(toHttp2Headers(sent.headers), { endStream: false });
        // Nothing is read before the endpoint exists.
        stream.pause();
        return await responseOf(stream);
      })(),
      timeout,
    );
    const answer = validateExtendedConnectResponse(response.status, response.headers, sent);
    if (!("subprotocol" in answer)) throw new HandshakeRejectedError(answer.statusCode, answer.headers, new Uint8Array(0));
    const connection = new Connection(ConnectionType.CLIENT, {
      ...endpointConnectionOptions(options),
      extensions: [...answer.extensions],
      handshake: "rfc8441",
    });
    const endpoint = new WebSocketEndpoint(stream!, connection, options, { protocol: answer.subprotocol ?? null, extensions: answer.extensions, request: null });
    if (ownSession) endpoint.once("close", () => session.close());
    options.onEndpoint?.(endpoint);
    return await whenOpen(endpoint);
  } catch (error) {
    (stream as http2.ClientHttp2Stream | null)?.close(nodeHttp2().constants.NGHTTP2_CANCEL);
    if (ownSession) session.destroy();
    throw error;
  }
}

/** Resolve once the server's SETTINGS allow extended CONNECT (RFC 8441 §3); reject if they do not. */
function extendedConnectAllowed(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (settings: http2.Settings): void => {
      cleanup();
      if (settings.enableConnectProtocol === true) resolve();
      else reject(new Error("the server's HTTP/2 SETTINGS do not include SETTINGS_ENABLE_CONNECT_PROTOCOL = 1: it does not take WebSockets over HTTP/2 (RFC 8441 §3); use connect() for HTTP/1.1"));
    };
    const failed = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const closed = (): void => failed(new ConnectionClosedError("the HTTP/2 session closed before the server's SETTINGS arrived"));
    const cleanup = (): void => {
      session.off("remoteSettings", check);
      session.off("error", failed);
      session.off("close", closed);
    };
    // A session given by the caller may have its SETTINGS already (the default is false).
    if (session.remoteSettings.enableConnectProtocol === true) {
      resolve();
      return;
    }
    session.on("remoteSettings", check);
    session.on("error", failed);
    session.on("close", closed);
  });
}

function responseOf(stream: http2.ClientHttp2Stream): Promise<{ status: number; headers: [string, string][] }> {
  return new Promise((resolve, reject) => {
    stream.once("response", (headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader, _flags: number, rawHeaders: unknown) => {
      stream.off("error", reject);
      stream.off("close", closed);
      resolve({ status: Number(headers[":status"]), headers: headersFromRaw(rawHeaders as string[]) });
    });
    const closed = (): void => reject(new ConnectionClosedError(`the HTTP/2 stream closed before a response (RST_STREAM code ${stream.rstCode ?? "none"})`));
    stream.once("error", reject);
    stream.once("close", closed);
  });
}

function withTimeout<T>(promise: Promise<T>, milliseconds: number): Promise<T> {
  if (milliseconds <= 0) return promise;
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError("handshake", milliseconds)), milliseconds);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

