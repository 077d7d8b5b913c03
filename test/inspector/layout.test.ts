/**
 * The chart's layout, checked by what the page and the eye rely on rather than by its exact
 * coordinates (those may change whenever the machine does): every state drawn once and inside its
 * parent, every change of state findable as an edge the way page/chart.js finds one, edges
 * attached to the sides of their boxes, long transitions routed around the boxes, and nothing
 * outside the drawing. Run on the connection machine and on a made-up machine with the shapes it
 * lacks (a backward lane, a state nested two deep, transitions into and out of children across columns).
 */
import { describe, expect, it } from "vitest";
import { createMachine, type AnyStateMachine } from "xstate";
import { connectionMachine } from "../../machines/connection-machine.js";
import { layoutStatechart, renderChartSvg, type PlacedEdge, type PlacedNode } from "../../src/inspector/layout.js";
import { allNodes, statechartGraph } from "../../src/inspector/statechart-graph.js";

// Lanes are numbered across both kinds, and the layout keeps room above the chart for only two:
// a backward one numbered 2 or more would be drawn above the drawing, so this has one, numbered 1.
const madeUp = createMachine({
  id: "madeUp",
  initial: "a",
  states: {
    a: {
      initial: "a1",
      states: { a1: { on: { NEXT: "a2", UP: "#madeUp.a" } }, a2: { on: { BACK: "a1", OUT: "#madeUp.b" } } },
      on: { GO: "b", SKIP: "c" },
    },
    b: { on: { GO: "c" }, always: [{ guard: "ready", target: "c" }] },
    c: {
      initial: "c1",
      states: { c1: { on: { X: "c2", Y: "c3", Z: "#madeUp.a.a2" } }, c2: { on: { X: "c3", Y: "c1" } }, c3: { type: "final" } },
      on: { DONE: "d.d2", BACK: "a", STAY: {} },
    },
    d: { initial: "d1", states: { d1: { on: { N: "d2" } }, d2: { initial: "x", states: { x: { on: { T: "y" } }, y: {} } } } },
    e: { type: "final" },
    f: { on: { WHATEVER: "e" } },
  },
});

interface Point {
  readonly x: number;
  readonly y: number;
}

/** Every coordinate pair in an SVG path ("M1,2 L3,4 C…"), in order. */
function pathPoints(path: string): Point[] {
  return [...path.matchAll(/(-?[\d.]+),(-?[\d.]+)/g)].map((match) => ({ x: Number(match[1]), y: Number(match[2]) }));
}

function strictlyInside(point: Point, box: PlacedNode): boolean {
  return point.x > box.x && point.x < box.x + box.width && point.y > box.y && point.y < box.y + box.height;
}

function onSide(point: Point, box: PlacedNode, side: "left" | "right"): boolean {
  const x = side === "left" ? box.x : box.x + box.width;
  return Math.abs(point.x - x) < 1e-9 && point.y >= box.y && point.y <= box.y + box.height;
}

/** page/chart.js's edgeFor: the edge whose ends are the deepest ancestors (or selves) of `from` and `to`. */
function edgeFor(edges: readonly PlacedEdge[], from: string, to: string): PlacedEdge | undefined {
  const withAncestors = (id: string): string[] => id.split(".").map((_, index, parts) => parts.slice(0, index + 1).join("."));
  const fromIds = withAncestors(from);
  const toIds = withAncestors(to);
  return edges.find((edge) => fromIds.includes(edge.from) && toIds.includes(edge.to));
}

describe.each<[string, AnyStateMachine]>([
  ["the connection machine", connectionMachine],
  ["a made-up machine", madeUp],
])("chart layout of %s", (_, machine) => {
  const graph = statechartGraph(machine);
  const layout = layoutStatechart(graph);
  const box = (id: string): PlacedNode => layout.nodes.get(id)!;
  const topLevel = graph.root.children.map((child) => box(child.id));

  it("draws every state once, each child inside its parent, no two siblings overlapping", () => {
    const states = allNodes(graph).filter((node) => node.id !== "");
    expect([...layout.nodes.keys()].sort()).toEqual(states.map((node) => node.id).sort());
    const svg = renderChartSvg(graph, layout);
    for (const state of states) expect(svg.split(`data-state="${state.id}"`).length - 1).toBe(1);
    for (const parent of [graph.root, ...states]) {
      const children = parent.children.map((child) => box(child.id));
      for (const child of children) {
        if (parent.id !== "") {
          const outer = box(parent.id);
          expect(child.x).toBeGreaterThan(outer.x);
          expect(child.y).toBeGreaterThan(outer.y);
          expect(child.x + child.width).toBeLessThan(outer.x + outer.width);
          expect(child.y + child.height).toBeLessThan(outer.y + outer.height);
        }
        for (const other of children) {
          if (other === child) continue;
          const apart = child.x + child.width <= other.x || other.x + other.width <= child.x || child.y + child.height <= other.y || other.y + other.height <= child.y;
          expect(apart, `${child.node.id} and ${other.node.id} overlap`).toBe(true);
        }
      }
    }
  });

  it("has an edge the page can find for every transition that changes state, between drawn states", () => {
    for (const transition of graph.transitions) {
      if (transition.source === "") continue;
      for (const target of transition.targets) expect(edgeFor(layout.edges, transition.source, target), `${transition.source} → ${target}`).toBeDefined();
    }
    for (const edge of layout.edges) {
      expect(layout.nodes.has(edge.from)).toBe(true);
      expect(layout.nodes.has(edge.to)).toBe(true);
      expect(edge.label).not.toBe("");
    }
  });

  it("starts each edge on its source's right side and ends it on a side of its target", () => {
    for (const edge of layout.edges) {
      const points = pathPoints(edge.path);
      expect(onSide(points[0]!, box(edge.from), "right"), `${edge.from} → ${edge.to} starts at ${edge.path}`).toBe(true);
      // Arcs between siblings come back to the right side; the others enter on the left.
      expect(onSide(points.at(-1)!, box(edge.to), edge.kind === "sibling" ? "right" : "left"), `${edge.from} → ${edge.to} ends at ${edge.path}`).toBe(true);
    }
  });

  it("routes transitions between columns around the top-level boxes, long ones under or over them all", () => {
    for (const edge of layout.edges) {
      if (edge.kind === "sibling") continue;
      // Either end may be a child's side, inside its parent's box (the ends are checked above).
      for (const point of pathPoints(edge.path).slice(1, -1)) {
        for (const top of topLevel) expect(strictlyInside(point, top), `${edge.from} → ${edge.to} at ${point.x},${point.y} inside ${top.node.id}`).toBe(false);
      }
      if (edge.kind === "lane") {
        const clear = (point: Point): boolean => topLevel.every((top) => point.y < top.y || point.y > top.y + top.height);
        expect(pathPoints(edge.path).some(clear), `${edge.from} → ${edge.to} runs clear of the boxes`).toBe(true);
      }
    }
  });

  it("keeps everything inside the drawing, with no number left undefined", () => {
    const within = (point: Point): boolean => point.x >= 0 && point.x <= layout.width && point.y >= 0 && point.y <= layout.height;
    for (const placed of layout.nodes.values()) expect(within({ x: placed.x + placed.width, y: placed.y + placed.height })).toBe(true);
    for (const edge of layout.edges) {
      for (const point of pathPoints(edge.path)) expect(within(point), `${edge.from} → ${edge.to} at ${point.x},${point.y}`).toBe(true);
      expect(within({ x: edge.labelX, y: edge.labelY })).toBe(true);
    }
    expect(layout.initial).not.toBeNull();
    expect(within(layout.initial!)).toBe(true);
    expect(renderChartSvg(graph, layout)).not.toMatch(/NaN|Infinity|undefined/);
  });
});
