import { describe, expect, it } from "vitest";
import { ConnectionType, DEFAULT_MAX_MESSAGE_SIZE } from "../../../codec/constants.js";
import { coreSettings } from "../../../codec/core/core-settings.js";
import { ProtocolCore } from "../../../codec/core/protocol-core.js";
import { MemoryBudget } from "../../../codec/memory-budget.js";

describe("coreSettings", () => {
  it("gives cores made one after another with the same options one frozen settings object", () => {
    const budget = new MemoryBudget(1024);
    const options = { maxMessageSize: 1000, memoryBudget: budget, textAs: "bytes" as const };
    const first = coreSettings(ConnectionType.SERVER, options);
    expect(coreSettings(ConnectionType.SERVER, { ...options })).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first).toMatchObject({ role: ConnectionType.SERVER, client: false, maxMessageSize: 1000, textAs: "bytes", memoryBudget: budget });
  });

  it("follows any option that changed, and keeps no settings that hold a frame trace", () => {
    const server = coreSettings(ConnectionType.SERVER, { maxFragments: 5 });
    expect(coreSettings(ConnectionType.CLIENT, { maxFragments: 5 })).not.toBe(server);
    const other = coreSettings(ConnectionType.SERVER, { maxFragments: 6 });
    expect(other.maxFragments).toBe(6);
    expect(coreSettings(ConnectionType.SERVER, { maxFragments: 6, workQuantum: 10 }).workQuantum).toBe(10);
    const trace = (): void => {};
    const traced = coreSettings(ConnectionType.SERVER, { frameTrace: trace });
    expect(traced.frameTrace).toBe(trace);
    expect(coreSettings(ConnectionType.SERVER, { frameTrace: trace })).not.toBe(traced);
  });

  it("each core reads its own: cores made alternately with different options do not mix them", () => {
    const small = new ProtocolCore(ConnectionType.SERVER, { maxMessageSize: 10, assembleMessages: true });
    const plain = new ProtocolCore(ConnectionType.CLIENT);
    expect([small.role, small.client, small.maxMessageSize, small.assembleMessages]).toEqual([ConnectionType.SERVER, false, 10, true]);
    expect([plain.role, plain.client, plain.maxMessageSize, plain.assembleMessages]).toEqual([ConnectionType.CLIENT, true, DEFAULT_MAX_MESSAGE_SIZE, false]);
    expect(new ProtocolCore(ConnectionType.CLIENT, { readInputInActor: false }).readsOutsideActor).toBe(true);
    expect(plain.readsOutsideActor).toBe(false);
  });
});
