/**
 * The fuzz properties, shared by the bounded run in `npm test` (fuzz.test.ts) and the long run
 * (`npm run fuzz`, scripts/fuzz.ts). Each draws a role (client or server) and a set-up (through
 * the opening handshake, with permessage-deflate, or frames only), so every property covers all.
 */
import fc from "fast-check";
import { ROLES, type Role } from "../conformance/wire.js";
import { compareLogs, run, type Actions } from "./harness.js";
import { build, chunkingArb, mutate, mutationArb, scenarioArb, type Scenario, type Setup } from "./scenario.js";
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
    "a mutated stream (frames mutated, handshake intact) yields the same events whole and in any chunking; invariants hold",
    fc.record({ scenario, mutations: fc.array(mutationArb, { minLength: 1, maxLength: 4 }), chunking: chunkingArb }),
    ({ scenario: s, mutations, chunking }) => {
      const wireFor = (key: string) => {
        const built = build(s, key);
        return mutate(built.wire, mutations, built.framesAt);
      };
      const whole = run(s.role, s.setup, wireFor, []);
      const chunked = run(s.role, s.setup, wireFor, chunking);
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
    fc.record({ role: fc.constantFrom<Role>(...ROLES), setup: fc.constantFrom(...SETUPS), bytes: fc.uint8Array({ maxLength: 400 }), chunking: chunkingArb }),
    ({ role, setup, bytes, chunking }) => {
      const wireFor = (key: string) => concatAll([handshakeHead(role, setup, key), bytes]);
      const whole = run(role, setup, wireFor, []);
      const chunked = run(role, setup, wireFor, chunking);
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
];

function handshakeHead(role: Role, setup: Setup, key: string): Uint8Array {
  if (setup === "frames-only") return new Uint8Array(0);
  const deflate = setup === "handshake+deflate";
  return role === "server"
    ? upgradeRequest(deflate ? [`Sec-WebSocket-Extensions: ${DEFLATE_OFFER}`] : [], key)
    : upgradeResponse(key, deflate ? [`Sec-WebSocket-Extensions: ${DEFLATE_RESPONSE}`] : []);
}
