/**
 * Opening handshake at the codec level: one full client + server HTTP/1.1 upgrade per op —
 * build the request, parse and validate it on the server, build the 101, parse and validate it
 * on the client (two SHA-1 accept tokens, one nonce). The connection layer adds its own cost
 * on top; the project target for complete handshakes through WSConnection is 40,000/s.
 */
import type { Workload } from "../harness.js";
import {
  buildAcceptResponse,
  buildUpgradeRequest,
  HttpHeadParser,
  validateUpgradeRequest,
  validateUpgradeResponse,
} from "../../codec/handshake/index.js";
import { AcceptConnection, Request } from "../../codec/events.js";

const HANDSHAKES_PER_PASS = 500;

const request = new Request({
  host: "example.com:8080",
  target: "/chat?room=42",
  subprotocols: ["chat.v2", "chat.v1"],
  extraHeaders: [
    ["Origin", "https://example.com"],
    ["User-Agent", "wsmachine-bench/1.0"],
  ],
});
const accept = new AcceptConnection({ subprotocol: "chat.v2" });

function oneHandshake(): void {
  const sent = buildUpgradeRequest(request);
  const serverParser = new HttpHeadParser({ kind: "request" });
  const requestHead = serverParser.push(sent.bytes);
  if (requestHead === null) throw new Error("request head incomplete");
  const received = validateUpgradeRequest(requestHead);
  const { bytes } = buildAcceptResponse(received, accept);
  const clientParser = new HttpHeadParser({ kind: "response" });
  const responseHead = clientParser.push(bytes);
  if (responseHead === null) throw new Error("response head incomplete");
  const result = validateUpgradeResponse(responseHead, sent);
  if (result.kind !== "accept" || result.event.subprotocol !== "chat.v2") throw new Error("handshake not accepted");
}

export const workloads: Workload[] = [
  {
    id: "handshake-codec",
    title: "Opening handshake, codec only (client + server, HTTP/1.1 upgrade)",
    unit: "ops/s",
    contenders: [
      {
        name: "wsmachine codec",
        run: () => {
          for (let i = 0; i < HANDSHAKES_PER_PASS; i++) oneHandshake();
          return HANDSHAKES_PER_PASS;
        },
      },
    ],
  },
];
