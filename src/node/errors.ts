/** The errors the endpoints report; they live with the runtime-agnostic endpoint (../runtime/errors.ts). */
export { HandshakeRejectedError, TimeoutError, ConnectionClosedError, PeerProtocolError } from "../runtime/errors.js";
