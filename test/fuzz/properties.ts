/**
 * The fuzz properties, shared by the bounded run in `npm test` (fuzz.test.ts) and the long run
 * (`npm run fuzz`, scripts/fuzz.ts). Each draws a role (client or server) and a set-up (through
 * the opening handshake, with permessage-deflate, or frames only), so every property covers all.
 */
import fc from "fast-check";
import type { ConnectionOptions } from "../../src/index.js";
import { ROLES, type Role } from "../conformance/wire.js";
import { compareLogs, run, runActor, type Actions } from "./harness.js";
import { build, buildRejection, chunkingArb, mutate, mutationArb, rejectionArb, scenarioArb, type Scenario, type Setup } from "./scenario.js";
import { upgradeRequest, upgradeResponse, concatAll } from "../conformance/wire.js";
import { DEFLATE_OFFER, DEFLATE_RESPONSE } from "./scenario.js";

const SETUPS: readonly Setup[] = ["handshake", "handshake+deflate", "frames-only"];

const roleSetup = fc.record({ role: fc.constantFrom<Role>(...ROLES), setup: fc.constantFrom(...SETUPS) });
const scenario = roleSetup.chain(({ role, setup }) => scenarioArb(role, setup));

const actionsArb: fc.Arbitrary<Actions> = fc.record(
  {
    pingAfter: fc.array(fc.nat(20), { maxLength: 3 }),
    closeAfter: fc.nat(20),
    probeAfter: fc.array(fc.nat(20), { maxLength: 2 }),
  },
  { requiredKeys: [] },
);

/** Sometimes small limits, so 1009 (maxMessageSize) and 1008 (maxFragments) failures are fuzzed too. */
const limitsArb: fc.Arbitrary<ConnectionOptions> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.record({ maxMessageSize: fc.integer({ min: 0, max: 5000 }), maxFragments: fc.integer({ min: 1, max: 8 }) }, { requiredKeys: [] }) },
);

/** The valid stream's events, plus the 1006 an EOF without a close frame yields. */
function expectedLog(s: Scenario, built: ReturnType<typeof build>) {
  return s.close === null ? [...built.expected, { close: 1006, reason: null }] : built.expected;
}

export interface NamedProperty {
  name: string;
  description: string;
  property: fc.IPropertyWithHooks<never> | fc.IProperty<never>;
}

function property<T>(name: string, description: string, arb: fc.Arbitrary<T>, predicate: (value: T) => void): NamedProperty {
  return { name, description, property: fc.property(arb, predicate) as unknown as fc.IProperty<never> };
}

export const PROPERTIES: readonly NamedProperty[] = [
  property(
    "nothing-lost",
    "a valid stream in any chunking yields exactly its messages, pings, pongs and close, in order (pings of our own sent meanwhile)",
    fc.record({ scenario, chunking: chunkingArb, pingAfter: fc.array(fc.nat(20), { maxLength: 3 }) }),
    ({ scenario: s, chunking, pingAfter }) => {
      const result = run(s.role, s.setup, (key) => build(s, key).wire, chunking, { pingAfter });
      const want = expectedLog(s, build(s));
      const problem = compareLogs(result.log, want) ?? (JSON.stringify(result.log) === JSON.stringify(want) ? null : "partial messages");
      if (problem !== null) throw new Error(`events differ from the stream's content: ${problem}`);
    },
  ),
  property(
    "mutated-chunking",
    "a mutated stream (frames mutated, handshake intact; sometimes small size and fragment limits) yields the same events whole and in any chunking; invariants hold",
    fc.record({ scenario, mutations: fc.array(mutationArb, { minLength: 1, maxLength: 4 }), chunking: chunkingArb, limits: limitsArb }),
    ({ scenario: s, mutations, chunking, limits }) => {
      const wireFor = (key: string) => {
        const built = build(s, key);
        return mutate(built.wire, mutations, built.framesAt);
      };
      const whole = run(s.role, s.setup, wireFor, [], {}, limits);
      const chunked = run(s.role, s.setup, wireFor, chunking, {}, limits);
      const problem = compareLogs(whole.log, chunked.log);
      if (problem !== null) throw new Error(problem);
    },
  ),
  property(
    "mutated-anywhere",
    "a stream mutated anywhere (handshake included), with our own pings, close and forbidden sends at random points: invariants hold",
    fc.record({ scenario, mutations: fc.array(mutationArb, { minLength: 1, maxLength: 6 }), chunking: chunkingArb, actions: actionsArb }),
    ({ scenario: s, mutations, chunking, actions }) => {
      run(s.role, s.setup, (key) => mutate(build(s, key).wire, mutations), chunking, actions);
    },
  ),
  property(
    "random-frames",
    "random bytes after a valid handshake: invariants hold and chunking does not matter",
    fc.record({ role: fc.constantFrom<Role>(...ROLES), setup: fc.constantFrom(...SETUPS), bytes: fc.uint8Array({ maxLength: 400 }), chunking: chunkingArb, limits: limitsArb }),
    ({ role, setup, bytes, chunking, limits }) => {
      const wireFor = (key: string) => concatAll([handshakeHead(role, setup, key), bytes]);
      const whole = run(role, setup, wireFor, [], {}, limits);
      const chunked = run(role, setup, wireFor, chunking, {}, limits);
      const problem = compareLogs(whole.log, chunked.log);
      if (problem !== null) throw new Error(problem);
    },
  ),
  property(
    "random-handshake",
    "random bytes, or a handshake head with random lines, as the opening handshake: only RemoteProtocolError, then CLOSED",
    fc.record({
      role: fc.constantFrom<Role>(...ROLES),
      deflate: fc.boolean(),
      prefix: fc.nat(300),
      junk: fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.array(fc.string({ unit: "binary-ascii", maxLength: 40 }), { maxLength: 6 }).map((lines) => new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"))),
      chunking: chunkingArb,
    }),
    ({ role, deflate, prefix, junk, chunking }) => {
      const setup: Setup = deflate ? "handshake+deflate" : "handshake";
      const wireFor = (key: string) => {
        const head = handshakeHead(role, setup, key);
        const cutAt = Math.min(prefix, head.length - 4);
        return concatAll([head.subarray(0, cutAt), junk]);
      };
      const whole = run(role, setup, wireFor, []);
      const chunked = run(role, setup, wireFor, chunking);
      const problem = compareLogs(whole.log, chunked.log);
      if (problem !== null) throw new Error(problem);
    },
  ),
  property(
    "actor-equivalence",
    "connectionMachine driven as an actor (ws.receive / ws.send) yields the same events as WSConnection for a mutated stream; it never errors and ends CLOSED",
    fc.record({
      scenario: fc.record({ role: fc.constantFrom<Role>(...ROLES), setup: fc.constantFrom<Setup>("handshake", "handshake+deflate") }).chain(({ role, setup }) => scenarioArb(role, setup)),
      mutations: fc.array(mutationArb, { maxLength: 3 }),
      anywhere: fc.boolean(),
      chunking: chunkingArb,
    }),
    ({ scenario: s, mutations, anywhere, chunking }) => {
      const setup = s.setup as Exclude<Setup, "frames-only">;
      const wireFor = (key: string) => {
        const built = build(s, key);
        return mutate(built.wire, mutations, anywhere ? 0 : built.framesAt);
      };
      const facade = run(s.role, setup, wireFor, chunking);
      const actor = runActor(s.role, setup, wireFor, chunking);
      const problem = compareLogs(facade.log, actor.log);
      if (problem !== null) throw new Error(`WSConnection and the actor disagree: ${problem}`);
    },
  ),
  property(
    "rejection",
    "a client reading a rejection (Content-Length, chunked, until EOF; 1xx heads before it) gets its status and whole body in any chunking",
    fc.record({ rejection: rejectionArb, chunking: chunkingArb }),
    ({ rejection, chunking }) => {
      const result = run("client", "handshake", rejectionWire(rejection), chunking, { probeAfter: [0] });
      const want = buildRejection(rejection).expected;
      if (JSON.stringify(result.log) !== JSON.stringify(want)) throw new Error(`rejection events differ:\n  ${JSON.stringify(result.log).slice(0, 500)}\n  ${JSON.stringify(want).slice(0, 500)}`);
    },
  ),
  property(
    "rejection-mutated",
    "a mutated rejection: only RemoteProtocolError, then CLOSED; the same events whole and in any chunking",
    fc.record({ rejection: rejectionArb, mutations: fc.array(mutationArb, { minLength: 1, maxLength: 4 }), chunking: chunkingArb }),
    ({ rejection, mutations, chunking }) => {
      const wireFor = (_key: string) => mutate(buildRejection(rejection).wire, mutations);
      const whole = run("client", "handshake", wireFor, []);
      const chunked = run("client", "handshake", wireFor, chunking);
      const problem = compareLogs(whole.log, chunked.log);
      if (problem !== null) throw new Error(problem);
    },
  ),
];

/** A client under test gets `rejection` in answer to its request. */
function rejectionWire(rejection: Parameters<typeof buildRejection>[0]) {
  return (_key: string) => buildRejection(rejection).wire;
}

function handshakeHead(role: Role, setup: Setup, key: string): Uint8Array {
  if (setup === "frames-only") return new Uint8Array(0);
  const deflate = setup === "handshake+deflate";
  return role === "server"
    ? upgradeRequest(deflate ? [`Sec-WebSocket-Extensions: ${DEFLATE_OFFER}`] : [], key)
    : upgradeResponse(key, deflate ? [`Sec-WebSocket-Extensions: ${DEFLATE_RESPONSE}`] : []);
}
