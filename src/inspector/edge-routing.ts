/**
 * The paths of the chart's transitions, once its states are placed (./layout.ts): transitions
 * are gathered into the edges to draw, each kind of edge is routed its own way, and their labels
 * are then moved apart.
 */
import { centerY, HEADER, LANE_GAP, MARGIN, parentOf, topLevelOf, type PlacedEdge, type PlacedNode } from "./chart-geometry.js";
import type { ChartTransition, StatechartGraph } from "./statechart-graph.js";

type PlacedNodes = ReadonlyMap<string, PlacedNode>;

/** The transitions drawn as one edge: those between the same two shapes. */
interface EdgeGroup {
  from: string;
  to: string;
  transitions: ChartTransition[];
  kind: PlacedEdge["kind"];
}

interface Point {
  readonly x: number;
  readonly y: number;
}

/** A path for every transition that changes state, labels kept apart. */
export function routeEdges(graph: StatechartGraph, nodes: PlacedNodes, rank: ReadonlyMap<string, number>, chartBottom: number): PlacedEdge[] {
  const groups = groupTransitions(graph, rank);
  // The order matters to `separateLabels`: among labels of one kind, the earlier one stays put.
  return separateLabels([...routeDirectEdges(groups, nodes), ...routeLaneEdges(groups, nodes, chartBottom), ...routeSiblingArcs(groups, nodes)]);
}

/**
 * Gather the transitions into edges, in the order they are first met. Transitions between
 * neighbouring columns keep their child states as ends; longer ones are drawn between the
 * top-level states, so all of a pair's share one lane.
 */
function groupTransitions(graph: StatechartGraph, rank: ReadonlyMap<string, number>): EdgeGroup[] {
  const groups = new Map<string, EdgeGroup>();
  for (const transition of graph.transitions) {
    if (transition.source === "") continue;
    for (const target of transition.targets) {
      let from = transition.source;
      let to = target;
      let kind: PlacedEdge["kind"];
      const fromTop = topLevelOf(from);
      const toTop = topLevelOf(to);
      if (fromTop === toTop) {
        // Siblings, or a child and its own ancestor: either way an arc on the right of the boxes.
        kind = "sibling";
      } else if (rank.get(toTop)! - rank.get(fromTop)! === 1) {
        kind = "direct";
      } else {
        kind = "lane";
        from = fromTop;
        to = toTop;
      }
      const key = `${from}>${to}`;
      const group = groups.get(key) ?? { from, to, transitions: [], kind };
      group.transitions.push(transition);
      groups.set(key, group);
    }
  }
  return [...groups.values()];
}

/**
 * Curves between neighbouring columns. Where they leave: a child's own height (several edges
 * from one child fan out a little); where they enter: spread along the target's side in the
 * order of their sources, so they do not cross on the way in.
 */
function routeDirectEdges(groups: readonly EdgeGroup[], nodes: PlacedNodes): PlacedEdge[] {
  const direct = groups.filter((group) => group.kind === "direct");
  const exits = spread(direct, (group) => group.from, (group) => centerY(nodes.get(group.to)!), nodes);
  const entries = spread(direct, (group) => group.to, (group) => exits.get(group)!, nodes);
  return direct.map((group) => directEdge(group, nodes, exits.get(group)!, entries.get(group)!));
}

function directEdge(group: EdgeGroup, nodes: PlacedNodes, startY: number, endY: number): PlacedEdge {
  const source = nodes.get(group.from)!;
  const target = nodes.get(group.to)!;
  // A child's edge runs straight out of its parent's box first, clear of the sibling arcs.
  const outer = nodes.get(topLevelOf(group.from))!;
  const childX = source.x + source.width;
  const startX = outer.x + outer.width;
  const endX = target.x;
  const bend = (endX - startX) / 2;
  const curve: Point[] = [
    { x: startX, y: startY },
    { x: startX + bend, y: startY },
    { x: endX - bend, y: endY },
    { x: endX, y: endY },
  ];
  // Labels sit past the middle, towards the target: the source side is crowded by the sibling arcs.
  const label = bezierPoint(curve, 0.62);
  return {
    ...describe(group),
    path: `M${childX},${startY} L${startX},${startY} C${startX + bend},${startY} ${endX - bend},${endY} ${endX},${endY}`,
    labelX: label.x,
    labelY: label.y - 4,
    anchor: "middle",
    kind: "direct",
  };
}

/**
 * Lanes run in the gaps between columns and under (forward) or over (backward) the chart, so
 * they never cross a box: out of the source's right side, along the lane, into the target's
 * left side. Each lane is further out, and its corners further in, than the one before.
 */
function routeLaneEdges(groups: readonly EdgeGroup[], nodes: PlacedNodes, chartBottom: number): PlacedEdge[] {
  return groups.filter((group) => group.kind === "lane").map((group, lane) => laneEdge(group, nodes, lane, chartBottom));
}

function laneEdge(group: EdgeGroup, nodes: PlacedNodes, lane: number, chartBottom: number): PlacedEdge {
  const source = nodes.get(group.from)!;
  const target = nodes.get(group.to)!;
  const forward = target.x > source.x;
  const laneY = forward ? chartBottom + LANE_GAP * (lane + 1) : MARGIN - 10 - LANE_GAP * lane;
  const startX = source.x + source.width;
  const startY = source.y + source.height - 12 - lane * 6;
  const downX = startX + 14 + lane * 10;
  const endX = target.x;
  const endY = target.y + target.height - 10 - lane * 6;
  const upX = endX - 14 - lane * 10;
  // Rounded corners: radius `r`, turning towards the lane and then along it.
  const r = 8;
  const vertical = forward ? 1 : -1;
  const across = upX > downX ? 1 : -1;
  return {
    ...describe(group),
    path:
      `M${startX},${startY} L${downX - r},${startY} Q${downX},${startY} ${downX},${startY + r * vertical} ` +
      `L${downX},${laneY - r * vertical} Q${downX},${laneY} ${downX + r * across},${laneY} ` +
      `L${upX - r * across},${laneY} Q${upX},${laneY} ${upX},${laneY - r * vertical} ` +
      `L${upX},${endY + r * vertical} Q${upX},${endY} ${upX + r},${endY} L${endX},${endY}`,
    labelX: (downX + upX) / 2,
    labelY: laneY - 4,
    anchor: "middle",
    kind: "lane",
  };
}

/** Arcs between states in one box: on the right of the parent box, each further out than the shorter ones inside it. */
function routeSiblingArcs(groups: readonly EdgeGroup[], nodes: PlacedNodes): PlacedEdge[] {
  const reach = (group: EdgeGroup): number => Math.abs(centerY(nodes.get(group.from)!) - centerY(nodes.get(group.to)!));
  const siblings = groups.filter((group) => group.kind === "sibling").sort((a, b) => reach(a) - reach(b));
  const arcsPerParent = new Map<string, number>();
  return siblings.map((group) => {
    const parent = parentOf(group.from);
    const inside = arcsPerParent.get(parent) ?? 0;
    arcsPerParent.set(parent, inside + 1);
    return siblingArc(group, nodes, inside);
  });
}

/** `inside`: how many arcs of the same box are drawn inside this one. */
function siblingArc(group: EdgeGroup, nodes: PlacedNodes, inside: number): PlacedEdge {
  const source = nodes.get(group.from)!;
  const target = nodes.get(group.to)!;
  const downwards = centerY(target) > centerY(source);
  const startX = source.x + source.width;
  const endX = target.x + target.width;
  const startY = centerY(source) + (downwards ? 4 : -4);
  const endY = centerY(target) + (downwards ? -4 : 4);
  // Three widths, then round again, so arcs stay within the room kept for them (ARC_ROOM).
  const outX = Math.max(startX, endX) + 12 + (inside % 3) * 9;
  return {
    ...describe(group),
    path: `M${startX},${startY} C${outX},${startY} ${outX},${endY} ${endX},${endY}`,
    // Labels of sibling arcs line up right of the arcs; `separateLabels` keeps them apart.
    labelX: Math.max(startX, endX) + 36,
    labelY: (startY + endY) / 2 + 3,
    anchor: "start",
    kind: "sibling",
  };
}

/** For each group, the y where it meets the side of the node `end` picks, spread evenly in the order of `order`. */
function spread(groups: EdgeGroup[], end: (group: EdgeGroup) => string, order: (group: EdgeGroup) => number, nodes: PlacedNodes): Map<EdgeGroup, number> {
  const byNode = new Map<string, EdgeGroup[]>();
  for (const group of groups) {
    const list = byNode.get(end(group)) ?? [];
    list.push(group);
    byNode.set(end(group), list);
  }
  const result = new Map<EdgeGroup, number>();
  for (const [id, list] of byNode) {
    const node = nodes.get(id)!;
    list.sort((a, b) => order(a) - order(b));
    // Atomic states: along their whole side. Compound states: along the header and the space below it.
    const top = node.y + (node.node.children.length > 0 ? 8 : 6);
    const bottom = node.node.children.length > 0 ? Math.min(node.y + node.height - 8, node.y + 24 * list.length + 8) : node.y + node.height - 6;
    list.forEach((group, index) => {
      result.set(group, list.length === 1 ? centerY(node) : top + ((bottom - top) * index) / (list.length - 1));
    });
  }
  return result;
}

function bezierPoint([p0, p1, p2, p3]: Point[], t: number): Point {
  const u = 1 - t;
  const a = u * u * u;
  const b = 3 * u * u * t;
  const c = 3 * u * t * t;
  const d = t * t * t;
  return { x: a * p0!.x + b * p1!.x + c * p2!.x + d * p3!.x, y: a * p0!.y + b * p1!.y + c * p2!.y + d * p3!.y };
}

function describe(group: EdgeGroup): Pick<PlacedEdge, "from" | "to" | "label" | "title"> {
  const labels: string[] = [];
  for (const transition of group.transitions) {
    // An eventless transition is told apart by its guard.
    const label = transition.event === "" && transition.guard !== null ? `[${transition.guard}]` : transition.eventLabel;
    if (!labels.includes(label)) labels.push(label);
  }
  const title = group.transitions
    .map((transition) => `${transition.source} → ${transition.targets.join(", ")}: ${transition.eventLabel}${transition.guard === null ? "" : ` [${transition.guard}]`}`)
    .join("\n");
  return { from: group.from, to: group.to, label: labels.join(", "), title };
}

/** Approximate width of an edge label (13.5px sans-serif, page/style.css): enough to keep labels from overlapping. */
function labelWidth(label: string): number {
  return label.length * 7.5;
}

/** Move labels down, a line at a time, until none overlaps one placed before it. */
function separateLabels(edges: PlacedEdge[]): PlacedEdge[] {
  const placed: Array<{ left: number; right: number; top: number; bottom: number }> = [];
  // Sibling labels first: they have the least room to move.
  const priority = (edge: PlacedEdge): number => (edge.kind === "sibling" ? 0 : edge.kind === "lane" ? 1 : 2);
  const order = edges.map((_, index) => index).sort((a, b) => priority(edges[a]!) - priority(edges[b]!) || a - b);
  const result = edges.slice();
  for (const index of order) {
    const edge = edges[index]!;
    const width = labelWidth(edge.label);
    const left = edge.anchor === "start" ? edge.labelX : edge.anchor === "end" ? edge.labelX - width : edge.labelX - width / 2;
    let y = edge.labelY;
    for (let attempt = 0; attempt < 6; attempt++) {
      const box = { left, right: left + width, top: y - 12, bottom: y + 3 };
      if (!placed.some((other) => box.left < other.right && other.left < box.right && box.top < other.bottom && other.top < box.bottom)) break;
      y += 15;
    }
    placed.push({ left, right: left + width, top: y - 12, bottom: y + 3 });
    if (y !== edge.labelY) result[index] = { ...edge, labelY: y };
  }
  return result;
}
