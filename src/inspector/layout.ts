/**
 * Lays out a `StatechartGraph` and draws it as SVG, for the offline inspector page. The layout
 * is computed from the graph alone, so the chart follows the machine definition:
 *
 * - top-level states go in columns by rank (the longest path from the initial state over the
 *   transitions between top-level states), compound states as boxes holding their children;
 * - a transition between neighbouring columns is a curve from its source (a child state when it
 *   has one) to its target; longer forward ones run along lanes under the chart, backward ones
 *   along lanes above it, both gathered per pair of top-level states; transitions between
 *   siblings are arcs on the right of their parent's box;
 * - transitions that do not change state are not drawn (the table in docs/statechart.md has them).
 *
 * Every state's shape carries `data-state="<id>"` and every edge `data-from` / `data-to`, so the
 * page can highlight live connections without knowing the layout.
 */
import {
  ARC_ROOM,
  ATOMIC_HEIGHT,
  CHILD_GAP,
  CHILD_HEIGHT,
  COLUMN_GAP,
  COLUMN_WIDTH,
  HEADER,
  LANE_GAP,
  MARGIN,
  PADDING,
  ROW_GAP,
  topLevelOf,
  type ChartLayout,
  type PlacedNode,
} from "./chart-geometry.js";
import { routeEdges } from "./edge-routing.js";
import type { ChartNode, StatechartGraph } from "./statechart-graph.js";

export type { ChartLayout, PlacedEdge, PlacedNode } from "./chart-geometry.js";

/** Rank of each top-level state: the longest path from the initial one, ignoring edges that close a cycle. */
function rankTopLevel(graph: StatechartGraph): Map<string, number> {
  const tops = graph.root.children.map((child) => child.id);
  const successors = new Map<string, Set<string>>(tops.map((id) => [id, new Set<string>()]));
  for (const transition of graph.transitions) {
    if (transition.source === "") continue;
    for (const target of transition.targets) {
      const from = topLevelOf(transition.source);
      const to = topLevelOf(target);
      if (from !== to) successors.get(from)?.add(to);
    }
  }
  // Depth-first from the initial state (then any unreached one) marks the edges that close a cycle.
  const backEdges = new Set<string>();
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (id: string): void => {
    visiting.add(id);
    for (const next of successors.get(id) ?? []) {
      if (visiting.has(next)) backEdges.add(`${id}>${next}`);
      else if (!done.has(next)) visit(next);
    }
    visiting.delete(id);
    done.add(id);
  };
  const start = graph.root.initial ?? tops[0];
  if (start !== undefined) visit(start);
  for (const id of tops) if (!done.has(id)) visit(id);

  const rank = new Map<string, number>(tops.map((id) => [id, 0]));
  // Longest path over the acyclic rest: relax in rounds (the graph is small).
  for (let round = 0; round < tops.length; round++) {
    let changed = false;
    for (const [from, nexts] of successors) {
      for (const to of nexts) {
        if (backEdges.has(`${from}>${to}`)) continue;
        const candidate = rank.get(from)! + 1;
        if (candidate > rank.get(to)!) {
          rank.set(to, candidate);
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  return rank;
}

/** Height of a node's box with its children stacked inside. */
function measure(node: ChartNode, depth: number): number {
  if (node.children.length === 0) return depth === 0 ? ATOMIC_HEIGHT : CHILD_HEIGHT;
  let height = HEADER;
  for (const child of node.children) height += measure(child, depth + 1) + CHILD_GAP;
  return height + PADDING - CHILD_GAP + PADDING;
}

function place(node: ChartNode, depth: number, x: number, y: number, width: number, nodes: Map<string, PlacedNode>): void {
  const height = measure(node, depth);
  nodes.set(node.id, { node, depth, x, y, width, height });
  let childY = y + HEADER;
  const childWidth = width - PADDING - ARC_ROOM;
  for (const child of node.children) {
    place(child, depth + 1, x + PADDING, childY, childWidth, nodes);
    childY += measure(child, depth + 1) + CHILD_GAP;
  }
}

/** Compute positions for every state and a path for every transition that changes state. */
export function layoutStatechart(graph: StatechartGraph): ChartLayout {
  const rank = rankTopLevel(graph);
  const columns = columnsByRank(graph, rank);
  const nodes = new Map<string, PlacedNode>();
  const chartBottom = placeColumns(columns, nodes);
  const edges = routeEdges(graph, nodes, rank, chartBottom);
  // The lanes of long transitions take room under (or over) the columns, one row each.
  const laneCount = edges.filter((edge) => edge.kind === "lane").length;
  const width = MARGIN * 2 + 24 + columns.length * COLUMN_WIDTH + (columns.length - 1) * COLUMN_GAP;
  const height = chartBottom + MARGIN + laneCount * LANE_GAP + 10;
  const initialNode = graph.root.initial === null ? undefined : nodes.get(graph.root.initial);
  const initial = initialNode === undefined ? null : { x: initialNode.x - 22, y: initialNode.y + 15 };
  return { width, height, nodes, edges, initial };
}

/** The top-level states in one column per rank (a rank no state has leaves its column empty). */
function columnsByRank(graph: StatechartGraph, rank: ReadonlyMap<string, number>): ChartNode[][] {
  const columns: ChartNode[][] = [];
  for (const child of graph.root.children) {
    const column = rank.get(child.id)!;
    (columns[column] ??= []).push(child);
  }
  // Within a column: the busiest states first (the main path of the lifecycle on top), then document order.
  const weight = (id: string): number =>
    graph.transitions.filter((t) => t.targets.length > 0 && (topLevelOf(t.source) === id || t.targets.some((target) => topLevelOf(target) === id))).length;
  for (const column of columns) if (column !== undefined) column.sort((a, b) => weight(b.id) - weight(a.id));
  return columns;
}

/** Place each column's states top to bottom into `nodes`; returns the bottom of the lowest one. */
function placeColumns(columns: ChartNode[][], nodes: Map<string, PlacedNode>): number {
  let chartBottom = 0;
  columns.forEach((column, index) => {
    if (column === undefined) return;
    let y = MARGIN + 20;
    const x = MARGIN + 24 + index * (COLUMN_WIDTH + COLUMN_GAP);
    for (const node of column) {
      place(node, 0, x, y, COLUMN_WIDTH, nodes);
      y += measure(node, 0) + ROW_GAP;
    }
    chartBottom = Math.max(chartBottom, y - ROW_GAP);
  });
  return chartBottom;
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** The chart as an SVG element (no XML prolog: it is inlined in the page). */
export function renderChartSvg(graph: StatechartGraph, layout: ChartLayout = layoutStatechart(graph)): string {
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${layout.width} ${layout.height}" width="${layout.width}" height="${layout.height}" role="img" aria-label="${escapeXml(graph.machineId)} statechart">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>`,
  );
  if (layout.initial !== null) {
    const { x, y } = layout.initial;
    out.push(`<circle class="initial" cx="${x - 10}" cy="${y}" r="5"/><path class="edge" d="M${x - 5},${y} L${x + 20},${y}" marker-end="url(#arrow)"/>`);
  }
  // Boxes first, parents before children, so children paint on top.
  for (const placed of layout.nodes.values()) {
    const { node, x, y, width, height } = placed;
    const compound = node.children.length > 0;
    const classes = ["state", compound ? "compound" : "atomic", `depth-${placed.depth}`];
    if (node.type === "final") classes.push("final");
    out.push(`<g class="${classes.join(" ")}" data-state="${escapeXml(node.id)}">`);
    out.push(`<title>${escapeXml(node.id)}${node.entry.length > 0 ? `\nentry: ${escapeXml(node.entry.join(", "))}` : ""}</title>`);
    out.push(`<rect x="${x}" y="${y}" width="${width}" height="${height}" rx="${compound ? 10 : 8}"/>`);
    if (node.type === "final") out.push(`<rect class="final-ring" x="${x + 4}" y="${y + 4}" width="${width - 8}" height="${height - 8}" rx="6"/>`);
    const labelY = compound ? y + 20 : y + height / 2 + 5;
    out.push(`<text class="state-label" x="${x + 12}" y="${labelY}">${escapeXml(node.key)}</text>`);
    // The page writes how many live connections are in this state here.
    out.push(`<text class="badge" x="${x + width - 10}" y="${labelY}" text-anchor="end" data-badge="${escapeXml(node.id)}"></text>`);
    out.push(`</g>`);
    if (compound && node.initial !== null) {
      // The initial child: a dot on its left, as the initial pseudo-state of UML statecharts.
      const initial = layout.nodes.get(node.initial)!;
      out.push(`<circle class="initial" cx="${initial.x - 5}" cy="${initial.y + initial.height / 2}" r="3"/>`);
    }
  }
  for (const edge of layout.edges) {
    out.push(`<g class="transition ${edge.kind}" data-from="${escapeXml(edge.from)}" data-to="${escapeXml(edge.to)}">`);
    out.push(`<title>${escapeXml(edge.title)}</title>`);
    out.push(`<path class="edge" d="${edge.path}" marker-end="url(#arrow)"/>`);
    out.push(`<text class="edge-label" x="${edge.labelX}" y="${edge.labelY}" text-anchor="${edge.anchor}">${escapeXml(edge.label)}</text>`);
    out.push(`</g>`);
  }
  out.push(`</svg>`);
  return out.join("\n");
}
