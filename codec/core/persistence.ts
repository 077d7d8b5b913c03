/**
 * A protocol core as plain data and back (README, "Persisting a connection"): the persisted
 * snapshot of the connection actor carries `describeCore(core)` in place of the core, and
 * restoring builds a fresh core from it. Frame-level state — buffered input and compression
 * contexts — is not carried: a restored connection reads from a frame boundary.
 */
import { Request } from "../events.js";
import type { Extension } from "../extension.js";
import { extensionName } from "../header-lists.js";
import type { ProtocolCore } from "./protocol-core.js";
import type { PersistedProtocolCore, ProtocolCoreOptions } from "./types.js";

const EMPTY = new Uint8Array(0);

/** The lifecycle-relevant state as plain data (see `PersistedProtocolCore`). */
export function describeCore(core: ProtocolCore): PersistedProtocolCore {
  const { clientOffer: offer, receivedRequest: request, extensions, extensionResponses } = core.record;
  return {
    version: 1,
    role: core.role,
    maxMessageSize: Number.isFinite(core.maxMessageSize) ? core.maxMessageSize : null,
    maxFragments: Number.isFinite(core.maxFragments) ? core.maxFragments : null,
    maxHandshakeHeadSize: core.maxHandshakeHeadSize ?? null,
    assembleMessages: core.assembleMessages,
    textAs: core.textAs,
    framesOnly: core.framesOnly,
    readInputInActor: !core.readsOutsideActor,
    eofReceived: core.eof,
    offer:
      offer === null
        ? null
        : { nonce: offer.nonce, subprotocols: offer.subprotocols.slice(), extensions: offer.extensions.map((extension) => extension.name) },
    request:
      request === null
        ? null
        : {
            host: request.host,
            target: request.target,
            subprotocols: request.subprotocols.slice(),
            // A received request's offers are strings (the header's elements).
            extensions: request.extensions.filter((offered): offered is string => typeof offered === "string"),
            extraHeaders: request.extraHeaders.map(([name, value]) => [name, value] as [string, string]),
          },
    subprotocol: core.record.subprotocol,
    extensions: extensions.map((extension, index) => ({
      name: extension.name,
      response: core.client && !core.framesOnly ? (extensionResponses[index] ?? null) : null,
    })),
    frames: core.framesState(),
  };
}

/**
 * Rebuild a core's lifecycle state from a description on `core`, a new core made with the
 * description's role and limits: the handshake's outcome (its extensions negotiated again on
 * fresh objects from `options.restoreExtension`), EOF, and a fresh frame layer. Throws an Error
 * when the extensions cannot be rebuilt.
 */
export function restoreInto(core: ProtocolCore, persisted: PersistedProtocolCore, options: ProtocolCoreOptions): void {
  const record = core.record;
  if (persisted.eofReceived) core.receive(null);
  record.subprotocol = persisted.subprotocol;
  const fresh = (name: string): Extension => {
    if (options.restoreExtension === undefined) {
      throw new Error(
        `the persisted connection uses the extension ${name}: restore it with input.restoreExtension, e.g. (name) => new PerMessageDeflate(options)`,
      );
    }
    const extension = options.restoreExtension(name);
    if (extension?.name !== name) throw new Error(`restoreExtension("${name}") must return an extension named ${name}`);
    return extension;
  };
  if (persisted.request !== null) {
    record.receivedRequest = new Request({ ...persisted.request, extensions: persisted.request.extensions.slice() });
  }
  if (persisted.offer !== null) {
    // The request bytes are long gone; the response is checked against the nonce and the offers.
    record.clientOffer = { bytes: EMPTY, nonce: persisted.offer.nonce, subprotocols: persisted.offer.subprotocols, extensions: persisted.offer.extensions.map(fresh) };
  }
  record.extensions = persisted.extensions.map((described) => {
    const extension = fresh(described.name);
    if (described.response !== null) {
      extension.finalize(described.response);
    } else if (record.receivedRequest !== null) {
      // As buildAcceptResponse: the offers naming it, in order, until one is accepted.
      const accepted = record.receivedRequest.extensions.some(
        (offer) => typeof offer === "string" && extensionName(offer) === described.name && isAccepted(extension.accept(offer)),
      );
      if (!accepted) throw new Error(`restoreExtension("${described.name}") declined the offers the original accepted: configure it as the original`);
    }
    if (!extension.enabled()) throw new Error(`restoreExtension("${described.name}") must return a negotiated extension for a frames-only connection`);
    return extension;
  });
  record.extensionResponses = persisted.extensions.map((described) => described.response ?? "");
  core.restoreFrames(persisted.frames);
}

function isAccepted(parameters: string | boolean | null): boolean {
  return parameters !== null && parameters !== false;
}
