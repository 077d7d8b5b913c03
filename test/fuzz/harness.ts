/**
 * Runs one byte stream through a connection the way an application would (accept the request,
 * answer closes, send pings and closes of its own) and checks the API's promises at every step:
 *
 * - only ProtocolErrors are thrown, and only where the API says: RemoteProtocolError from
 *   receiveData during the handshake (CONNECTING, REJECTING); LocalProtocolError from send
 *   (for a request the state forbids; the state is then unchanged) and from receiveData after
 *   CLOSED; nothing ever from events();
 * - the state is always one of ConnectionState, and after a failure it is the one the API
 *   defines (OPEN.failed, then LOCAL_CLOSING once answered; CLOSED after a handshake error);
 * - nothing is yielded after a failure's CloseConnection; EOF always ends in CLOSED.
 *
 * Violations throw InvariantViolation. The result is the summarized event log, for comparing
 * chunkings and for checking that nothing is lost. No vitest: scripts/fuzz.ts uses it too.
 */
import {
  AcceptConnection,
  CloseConnection,
  Connection,
  ConnectionState,
  ConnectionType,
  LocalProtocolError,
  PerMessageDeflate,
  Ping,
  RejectConnection,
  RemoteProtocolError,
  Request,
  TextMessage,
  WSConnection,
  connectionMachine,
  type ConnectionOptions,
  type Event,
} from "../../src/index.js";
import { createActor } from "xstate";
import { summarize, type Summary } from "../conformance/driver.js";
import { SAMPLE_KEY, headerValue, type Role } from "../conformance/wire.js";
import { cut, type Setup } from "./scenario.js";

export class InvariantViolation extends Error {
  override name = "InvariantViolation";
}

const STATES = new Set<string>(Object.values(ConnectionState));

export interface Actions {
  /** Chunk indices after which we send a ping of our own (when OPEN). */
  pingAfter?: readonly number[];
  /** Chunk index after which we start the closing handshake (when OPEN). */
  closeAfter?: number;
  /** Chunk indices after which we try a send the state forbids (must raise LocalProtocolError). */
  probeAfter?: readonly number[];
}

export interface RunResult {
  /** Events, message chunks joined; a RemoteProtocolError appears as { other: "RemoteProtocolError" }. */
  log: Summary[];
  /** How many receiveData chunks were fed. */
  chunks: number;
}

function fail(message: string): never {
  throw new InvariantViolation(message);
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ""}` : String(error);
}

export function run(
  role: Role,
  setup: Setup,
  wireFor: (key: string) => Uint8Array,
  chunking: number[] | { chop: number },
  actions: Actions = {},
  options: ConnectionOptions = {},
): RunResult {
  const type = role === "server" ? ConnectionType.SERVER : ConnectionType.CLIENT;
  const deflate = setup === "handshake+deflate";
  const conn = setup === "frames-only" ? new Connection(type, options) : new WSConnection(type, options);
  // A client under test picks its Sec-WebSocket-Key; a server under test is sent RFC 6455's sample key.
  let key = SAMPLE_KEY;
  if (role === "client" && setup !== "frames-only") {
    const head = guard("send(Request)", () => conn.send(new Request({ host: "example.com", target: "/", extensions: deflate ? [new PerMessageDeflate()] : [] })));
    key = headerValue(head, "sec-websocket-key") ?? fail("no Sec-WebSocket-Key in our request");
  }
  const events: Event[] = [];
  let handshakeError = false;
  let failure = false;

  const checkState = (where: string): void => {
    if (!STATES.has(conn.state)) fail(`${where}: state ${String(conn.state)} is not a ConnectionState`);
  };
  const snapshotValue = (): string => JSON.stringify(conn.actor.getSnapshot().value);

  const react = (event: Event): void => {
    if (failure) fail(`an event (${event.type}) after the failure's CloseConnection`);
    events.push(event);
    checkState(`after ${event.type}`);
    if (event instanceof Request) {
      guard("send(AcceptConnection)", () => conn.send(new AcceptConnection({ extensions: deflate ? [new PerMessageDeflate()] : [] })));
      if (conn.state !== ConnectionState.OPEN) fail(`server not OPEN after accepting: ${conn.state}`);
    } else if (event instanceof CloseConnection) {
      const value = snapshotValue();
      if (conn.state === ConnectionState.REMOTE_CLOSING) {
        guard("send(close response)", () => conn.send(event.response()));
        if ((conn.state as ConnectionState) !== ConnectionState.CLOSED) fail(`not CLOSED after answering a close: ${conn.state}`);
      } else if (value === '{"OPEN":"failed"}') {
        failure = true;
        guard("send(failure response)", () => conn.send(event.response()));
        if ((conn.state as ConnectionState) !== ConnectionState.LOCAL_CLOSING) fail(`not LOCAL_CLOSING after answering a failure: ${conn.state}`);
      } else if (value === '{"LOCAL_CLOSING":"failed"}') {
        failure = true;
      } else if (conn.state !== ConnectionState.CLOSED) {
        fail(`CloseConnection(${event.code}) left the connection in ${value}`);
      }
    }
  };

  const drainEvents = (where: string): void => {
    let iterator: Generator<Event>;
    try {
      iterator = conn.events();
      for (;;) {
        const next = iterator.next();
        if (next.done) break;
        react(next.value);
      }
    } catch (error) {
      if (error instanceof InvariantViolation) throw error;
      fail(`events() threw ${where}: ${describeError(error)}`);
    }
  };

  const receive = (data: Uint8Array | null, where: string): boolean => {
    const before = conn.state;
    try {
      conn.receiveData(data);
      return true;
    } catch (error) {
      if (error instanceof RemoteProtocolError) {
        if (before !== ConnectionState.CONNECTING && before !== ConnectionState.REJECTING) {
          fail(`RemoteProtocolError from receiveData in state ${before} (${where}): ${error.message}`);
        }
        handshakeError = true;
        afterHandshakeError(error);
        return false;
      }
      if (error instanceof LocalProtocolError) fail(`LocalProtocolError from receiveData in state ${before} (${where}): ${error.message}`);
      fail(`receiveData threw a non-protocol error (${where}): ${describeError(error)}`);
    }
  };

  const afterHandshakeError = (error: RemoteProtocolError): void => {
    if (role === "server") {
      const hint = error.eventHint;
      if (!(hint instanceof RejectConnection)) fail(`a server's RemoteProtocolError without a RejectConnection hint: ${error.message}`);
      if (conn.state !== ConnectionState.CONNECTING) fail(`server in ${conn.state} after a bad request`);
      guard("send(eventHint)", () => conn.send(hint));
    }
    if (conn.state !== ConnectionState.CLOSED) fail(`${conn.state} after a handshake error was handled (expected CLOSED)`);
  };

  const chunks = cut(wireFor(key), chunking);
  let fed = 0;
  for (let i = 0; i < chunks.length; i++) {
    if (conn.state === ConnectionState.CLOSED) {
      // The API: bytes after CLOSED are a caller error (LocalProtocolError), and change nothing.
      let threw: unknown = null;
      try {
        conn.receiveData(chunks[i]!);
      } catch (error) {
        threw = error;
      }
      if (!(threw instanceof LocalProtocolError)) fail(`receiveData after CLOSED did not raise LocalProtocolError: ${describeError(threw)}`);
      if (conn.state !== ConnectionState.CLOSED) fail("receiveData after CLOSED changed the state");
      break;
    }
    fed++;
    if (!receive(chunks[i]!, `chunk ${i}`)) break;
    checkState(`after chunk ${i}`);
    drainEvents(`after chunk ${i}`);
    act(i);
  }

  function act(i: number): void {
    const state = conn.state;
    const open = state === ConnectionState.OPEN && !failure;
    if (open && actions.pingAfter?.includes(i)) guard("send(Ping)", () => conn.send(new Ping({ payload: Uint8Array.of(i & 0xff) })));
    if (open && actions.closeAfter === i) {
      guard("send(CloseConnection)", () => conn.send(new CloseConnection({ code: 1000, reason: "fuzz" })));
      if (conn.state !== ConnectionState.LOCAL_CLOSING) fail(`not LOCAL_CLOSING after our close: ${conn.state}`);
    }
    if (actions.probeAfter?.includes(i)) probe();
  }

  /** A send the state forbids: LocalProtocolError, state and statechart unchanged. */
  function probe(): void {
    const state = conn.state;
    const value = snapshotValue();
    const forbidden: Event =
      state === ConnectionState.OPEN || state === ConnectionState.LOCAL_CLOSING || state === ConnectionState.REMOTE_CLOSING
        ? new AcceptConnection()
        : state === ConnectionState.CLOSED
          ? new TextMessage({ data: "after the end" })
          : new CloseConnection({ code: 1000 });
    let threw: unknown = null;
    try {
      conn.send(forbidden);
    } catch (error) {
      threw = error;
    }
    if (!(threw instanceof LocalProtocolError)) fail(`send(${forbidden.type}) in ${value} did not raise LocalProtocolError: ${describeError(threw)}`);
    if (snapshotValue() !== value) fail(`a refused send changed the state from ${value} to ${snapshotValue()}`);
  }

  // EOF: whatever happened, the connection ends CLOSED.
  if (conn.state !== ConnectionState.CLOSED) {
    if (receive(null, "EOF")) drainEvents("after EOF");
  }
  if (conn.state !== ConnectionState.CLOSED) fail(`not CLOSED after EOF: ${snapshotValue()}`);
  drainEvents("after CLOSED");
  let after: unknown = null;
  try {
    conn.receiveData(null);
    conn.receiveData(Uint8Array.of(0x81, 0x00));
  } catch (error) {
    after = error;
  }
  if (!(after instanceof LocalProtocolError)) fail(`receiveData(bytes) after CLOSED did not raise LocalProtocolError: ${describeError(after)}`);

  // The log: events summarized; a handshake error ends it (every event was produced before it).
  const summaries = summarize(events);
  if (handshakeError) summaries.push({ other: "RemoteProtocolError" });
  return { log: summaries, chunks: fed };

  function guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      fail(`${what} threw in ${snapshotValue()}: ${describeError(error)}`);
    }
  }
}

/**
 * Two logs of the same stream under different chunkings must be equal, except how much of a
 * message cut short by a close or failure had been delivered: each such partial must be a
 * prefix of the other's.
 */
export function compareLogs(a: readonly Summary[], b: readonly Summary[]): string | null {
  const isPartial = (s: Summary) => "partialText" in s || "partialBinary" in s || "partialRejectBody" in s;
  const strip = (log: readonly Summary[]) => log.filter((s) => !isPartial(s));
  const partials = (log: readonly Summary[]) => log.filter(isPartial).map((s) => Object.values(s)[0] as string);
  const [la, lb] = [strip(a), strip(b)];
  const sa = JSON.stringify(la);
  const sb = JSON.stringify(lb);
  if (sa !== sb) return `logs differ:\n  ${sa.slice(0, 2000)}\n  ${sb.slice(0, 2000)}`;
  const pa = partials(a);
  const pb = partials(b);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const [x, y] = [pa[i]!, pb[i]!];
    if (!x.startsWith(y) && !y.startsWith(x)) return `partial messages differ: ${JSON.stringify(x).slice(0, 200)} / ${JSON.stringify(y).slice(0, 200)}`;
  }
  return null;
}

/**
 * The same stream through `connectionMachine` used as an actor (`ws.receive` / `ws.send`, emitted
 * `ws.event` / `ws.error`), the way an XState application embeds it; the application part
 * (accept, answer closes and failures) as in `run`. The actor must never reach its error status
 * and must end in its final state (CLOSED) after EOF. Returns the same kind of log as `run`.
 */
export function runActor(role: Role, setup: Exclude<Setup, "frames-only">, wireFor: (key: string) => Uint8Array, chunking: number[] | { chop: number }): RunResult {
  const type = role === "server" ? ConnectionType.SERVER : ConnectionType.CLIENT;
  const deflate = setup === "handshake+deflate";
  const actor = createActor(connectionMachine, { input: { type } });
  const events: Event[] = [];
  const fresh: Event[] = [];
  const output: Uint8Array[] = [];
  let hint: RejectConnection | null | undefined;
  let handshakeError = false;
  actor.on("ws.event", (emitted) => {
    events.push(emitted.event);
    fresh.push(emitted.event);
  });
  actor.on("ws.output", (emitted) => output.push(emitted.data));
  actor.on("ws.error", (emitted) => {
    const error = emitted.error;
    if (error instanceof RemoteProtocolError) {
      handshakeError = true;
      hint = error.eventHint;
    } else {
      fail(`ws.error ${error.name}: ${error.message} in ${JSON.stringify(actor.getSnapshot().value)}`);
    }
  });
  actor.start();
  const top = (): string => {
    const value = actor.getSnapshot().value;
    return typeof value === "string" ? value : Object.keys(value)[0]!;
  };
  const check = (where: string): void => {
    const snapshot = actor.getSnapshot();
    if (snapshot.status === "error") fail(`actor in error status ${where}: ${describeError(snapshot.error)}`);
    if (!STATES.has(top())) fail(`${where}: actor state ${top()} is not a ConnectionState`);
  };
  const send = (event: Event): void => {
    actor.send({ type: "ws.send", event });
    check(`after ws.send ${event.type}`);
  };
  /** The application's part, after the actor has taken the transitions the events caused. */
  const reply = (): void => {
    while (fresh.length > 0) {
      const event = fresh.shift()!;
      const value = JSON.stringify(actor.getSnapshot().value);
      if (event instanceof Request) send(new AcceptConnection({ extensions: deflate ? [new PerMessageDeflate()] : [] }));
      else if (event instanceof CloseConnection && (top() === "REMOTE_CLOSING" || value === '{"OPEN":"failed"}')) send(event.response());
    }
    if (handshakeError && role === "server" && hint !== undefined) {
      if (!(hint instanceof RejectConnection)) fail("a server's RemoteProtocolError without a RejectConnection hint");
      const rejection = hint;
      hint = undefined;
      send(rejection);
    }
  };

  let key = SAMPLE_KEY;
  if (role === "client") {
    send(new Request({ host: "example.com", target: "/", extensions: deflate ? [new PerMessageDeflate()] : [] }));
    key = headerValue(output[0] ?? new Uint8Array(0), "sec-websocket-key") ?? fail("no Sec-WebSocket-Key in our request");
  }
  let fed = 0;
  for (const chunk of cut(wireFor(key), chunking)) {
    if (actor.getSnapshot().status === "done") break;
    fed++;
    actor.send({ type: "ws.receive", data: chunk });
    check(`after chunk ${fed - 1}`);
    reply();
  }
  if (actor.getSnapshot().status !== "done") {
    actor.send({ type: "ws.receive", data: null });
    check("after EOF");
    reply();
  }
  if (actor.getSnapshot().status !== "done" || top() !== "CLOSED") fail(`actor not CLOSED after EOF: ${JSON.stringify(actor.getSnapshot().value)}`);
  const log = summarize(events);
  if (handshakeError) log.push({ other: "RemoteProtocolError" });
  return { log, chunks: fed };
}
