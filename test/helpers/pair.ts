/** A client and a server connected back to back, for tests: bytes from one are fed to the other. */
import {
  AcceptConnection,
  ConnectionType,
  Request,
  WSConnection,
  type ConnectionOptions,
  type Event,
} from "../../src/index.js";

export function drain(connection: { events(): Generator<Event> }): Event[] {
  return [...connection.events()];
}

/** A copy, because a receiving connection may unmask a chunk in place. */
export function copy(bytes: Uint8Array): Uint8Array {
  return bytes.slice();
}

export interface Pair {
  client: WSConnection;
  server: WSConnection;
  /** Send `event` from `from` and return the events the other side yields. */
  clientSends(event: Event): Event[];
  serverSends(event: Event): Event[];
}

export function openPair(options: { client?: ConnectionOptions; server?: ConnectionOptions; request?: Request; accept?: AcceptConnection } = {}): Pair {
  const client = new WSConnection(ConnectionType.CLIENT, options.client);
  const server = new WSConnection(ConnectionType.SERVER, options.server);
  server.receiveData(client.send(options.request ?? new Request({ host: "example.com", target: "/chat" })));
  const received = drain(server);
  if (received.length !== 1 || !(received[0] instanceof Request)) throw new Error(`server did not get a Request: ${received.map((e) => e.type)}`);
  client.receiveData(server.send(options.accept ?? new AcceptConnection()));
  const accepted = drain(client);
  if (accepted.length !== 1 || !(accepted[0] instanceof AcceptConnection)) throw new Error(`client was not accepted: ${accepted.map((e) => e.type)}`);
  return {
    client,
    server,
    clientSends(event) {
      server.receiveData(copy(client.send(event)));
      return drain(server);
    },
    serverSends(event) {
      client.receiveData(copy(server.send(event)));
      return drain(client);
    },
  };
}
