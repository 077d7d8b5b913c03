/**
 * What every server (wsmachine/node's on node:net and on node:http2, and the Deno and Bun ones)
 * does with its endpoints the same way: keep the set of all of them and of the open ones, report
 * a handshake that failed, and close them all on shutdown.
 */
import { ConnectionState } from "../../codec/constants.js";
import type { OpenWatchable } from "./endpoint-core.js";

/** What a server needs of an endpoint to keep track of it and close it. */
export interface ServedEndpoint extends OpenWatchable {
  readonly state: ConnectionState;
  readonly closed: Promise<unknown>;
  close(code?: number, reason?: string): boolean;
  terminate(): void;
}

/**
 * Track `endpoint` in `endpoints` until it closes, and in `clients` once it opened. Its errors
 * before it opens go to `handshakeError` (the server's 'clientError'); `opened` is called when
 * it opens (the server's 'connection').
 */
export function trackEndpoint<Endpoint extends ServedEndpoint>(
  endpoint: Endpoint,
  endpoints: Set<Endpoint>,
  clients: Set<Endpoint>,
  handshakeError: (error: Error) => void,
  opened: () => void,
): void {
  endpoints.add(endpoint);
  const onOpen = (): void => {
    endpoint.off("error", handshakeError);
    endpoint.off("open", onOpen);
    clients.add(endpoint);
    opened();
  };
  const onClose = (): void => {
    endpoint.off("error", handshakeError);
    endpoint.off("open", onOpen);
    endpoint.off("close", onClose);
    endpoints.delete(endpoint);
    clients.delete(endpoint);
  };
  endpoint.on("error", handshakeError);
  endpoint.on("open", onOpen);
  endpoint.on("close", onClose);
}

/**
 * Close every endpoint with `code` (1001 "going away" on shutdown): open ones with the closing
 * handshake, bounded by their `closeTimeout`; those still in their opening handshake are
 * aborted. Resolves when all are closed.
 */
export async function closeEndpoints(endpoints: Iterable<ServedEndpoint>, code: number, reason?: string): Promise<void> {
  const closed: Promise<unknown>[] = [];
  for (const endpoint of endpoints) {
    closed.push(endpoint.closed);
    const state = endpoint.state;
    if (state === ConnectionState.OPEN || state === ConnectionState.REMOTE_CLOSING) endpoint.close(code, reason);
    else if (state === ConnectionState.CONNECTING) endpoint.terminate();
  }
  await Promise.all(closed);
}
