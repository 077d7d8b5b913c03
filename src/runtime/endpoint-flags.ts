/**
 * The endpoint's yes/no state as bits of one number: seventeen boolean fields were 136 bytes of
 * every connection, idle ones included (bench:e2e R1, docs/performance.md). Each flag reads and
 * writes as a boolean property (an accessor on this prototype), so the endpoint's code is written
 * as if they were fields.
 */

/** The flags, in bit order (see EndpointBase for what each means). */
const FLAGS = [
  "pumping",
  "awaitingDecision",
  "deferredAfterOpen",
  "writeBlocked",
  "pausedByApplication",
  "transportPaused",
  "closeFrameSent",
  "closeFrameReceived",
  "failed",
  "wasOpened",
  "handshakeErrorReported",
  "closingTransport",
  "eofFed",
  "transportClosed",
  "closeEmitted",
  "readingStopped",
  "sliceScheduled",
] as const;

export abstract class EndpointFlags {
  /** One bit per name of FLAGS, all false at first. */
  private flagBits = 0;

  /** Hand out the connection's events now (a running loop sees whatever changed). */
  protected declare pumping: boolean;
  // Why reading is stopped (see endpoint-core.ts).
  protected declare awaitingDecision: boolean;
  protected declare deferredAfterOpen: boolean;
  protected declare writeBlocked: boolean;
  protected declare pausedByApplication: boolean;
  /** The transport is paused because of one of the above (so ours to resume). */
  protected declare transportPaused: boolean;
  // How it ended.
  protected declare closeFrameSent: boolean;
  protected declare closeFrameReceived: boolean;
  /** The peer broke the protocol once open (RFC 6455 §7.1.7), or we failed the connection. */
  protected declare failed: boolean;
  protected declare wasOpened: boolean;
  /** An error already explains why the handshake did not complete. */
  protected declare handshakeErrorReported: boolean;
  /** The close timer now bounds the wait for the transport to end (not for the peer's close frame). */
  protected declare closingTransport: boolean;
  protected declare eofFed: boolean;
  protected declare transportClosed: boolean;
  protected declare closeEmitted: boolean;
  /** Nothing more will be read: the transport stays paused; what still arrives is dropped. */
  protected declare readingStopped: boolean;
  /** A slice of work was cut short: the rest runs on the next turn of the event loop. */
  protected declare sliceScheduled: boolean;
}

FLAGS.forEach((name, bit) => {
  const mask = 1 << bit;
  Object.defineProperty(EndpointFlags.prototype, name, {
    get(this: { flagBits: number }): boolean {
      return (this.flagBits & mask) !== 0;
    },
    set(this: { flagBits: number }, value: boolean) {
      this.flagBits = value ? this.flagBits | mask : this.flagBits & ~mask;
    },
  });
});
