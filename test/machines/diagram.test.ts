import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { and, createMachine, not, setup, type AnyStateNode } from "xstate";
import { connectionMachine } from "../../src/index.js";
import { DIAGRAM_PATH, README_PATH, renderMermaid, renderStatechartDocument, withReadmeDiagram } from "../../scripts/diagram.js";
import { statechartGraph } from "../../src/inspector/statechart-graph.js";

describe("docs/statechart.md", () => {
  it("is exactly what npm run diagram generates from the machine (run it after changing machines/connection-machine.ts)", () => {
    expect(readFileSync(DIAGRAM_PATH, "utf8")).toBe(renderStatechartDocument());
  });

  it("README.md's statechart block, when it has the markers, is what npm run diagram generates too", () => {
    const readme = readFileSync(README_PATH, "utf8");
    expect(readme).toBe(withReadmeDiagram(readme));
    const sample = "intro\n<!-- statechart:begin -->\nstale\n<!-- statechart:end -->\nrest\n";
    expect(withReadmeDiagram(sample)).toBe(
      `intro\n<!-- statechart:begin -->\n\`\`\`mermaid\n${renderMermaid(statechartGraph(connectionMachine))}\n\`\`\`\n<!-- statechart:end -->\nrest\n`,
    );
    expect(withReadmeDiagram("no markers here\n")).toBe("no markers here\n");
  });

  it("declares every state of the machine and draws the lifecycle's main transitions", () => {
    const mermaid = renderMermaid(statechartGraph(connectionMachine));
    // Walk the machine independently of the graph module: every state node must be declared.
    const ids: string[] = [];
    const visit = (node: AnyStateNode): void => {
      for (const child of Object.values(node.states as Record<string, AnyStateNode>)) {
        ids.push(child.path.join("_"));
        visit(child);
      }
    };
    visit(connectionMachine.root);
    expect(ids).toHaveLength(18);
    for (const id of ids) expect(mermaid).toMatch(new RegExp(`(^|\\s|as )${id}( \\{)?$`, "m"));
    for (const line of [
      "[*] --> CONNECTING",
      "CONNECTING_awaitingRequest --> CONNECTING_requestReceived: peer.request",
      "CONNECTING_requestReceived --> OPEN: ws.send [canSend(AcceptConnection)]",
      "CONNECTING_awaitingResponse --> OPEN: peer.accepted",
      "OPEN_active --> LOCAL_CLOSING: ws.send [canSend(CloseConnection)]",
      "OPEN_active --> REMOTE_CLOSING: peer.close",
      "LOCAL_CLOSING_awaitingClose --> CLOSED: peer.close",
      "REMOTE_CLOSING --> CLOSED: ws.send [canSend(CloseConnection)]",
      "OPEN --> CLOSED: transport.eof",
      "CLOSED --> [*]",
    ]) {
      expect(mermaid).toContain(`  ${line}\n`.trimEnd());
    }
    // Transitions that only run actions (reading input, sending a message) are not edges.
    expect(mermaid).not.toMatch(/ws\.receive/);
  });
});

describe("the diagram generator on other machines", () => {
  it("labels guard combinators, delays, final states and eventless transitions", () => {
    const machine = setup({
      guards: { ready: () => true, broken: () => false },
      delays: { patience: 500 },
    }).createMachine({
      id: "toy",
      initial: "idle",
      states: {
        idle: { always: { guard: and(["ready", not("broken")]), target: "waiting" } },
        waiting: { after: { patience: "done" }, on: { poke: { target: "done", guard: { type: "broken" } } } },
        done: { type: "final" },
      },
    });
    expect(renderMermaid(statechartGraph(machine))).toBe(
      [
        "stateDiagram-v2",
        "  [*] --> idle",
        "  idle",
        "  waiting",
        "  done",
        "  done --> [*]",
        "  idle --> waiting: [ready and not broken]",
        "  waiting --> done: poke [broken]",
        "  waiting --> done: after patience",
      ].join("\n"),
    );
  });

  it("refuses two states that would share a Mermaid id", () => {
    const machine = createMachine({ initial: "a_b", states: { a_b: {}, a: { initial: "b", states: { b: {} } } } });
    expect(() => renderMermaid(statechartGraph(machine))).toThrow(/share the Mermaid id a_b/);
  });
});
