/**
 * The endpoint's side of its transport (./transport.ts TransportSink), kept out of
 * ./endpoint-core.ts, whose methods it forwards to.
 */
import type { TransportSink } from "./transport.js";

/** What the sink forwards to: the endpoint (EndpointCore). */
export interface SinkTarget {
  transportData(chunk: Uint8Array): void;
  transportEnd(): void;
  transportClose(): void;
  transportError(error: Error): void;
  transportDrain(): void;
}

/**
 * What the transport tells an endpoint, as one small object whose methods forward to it: five
 * bound functions per connection were a fifth of an idle connection's heap (bench:e2e R1).
 */
export class EndpointSink implements TransportSink {
  private readonly core: SinkTarget;

  constructor(core: SinkTarget) {
    this.core = core;
  }

  data(chunk: Uint8Array): void {
    this.core.transportData(chunk);
  }

  end(): void {
    this.core.transportEnd();
  }

  close(): void {
    this.core.transportClose();
  }

  error(error: Error): void {
    this.core.transportError(error);
  }

  drain(): void {
    this.core.transportDrain();
  }
}
