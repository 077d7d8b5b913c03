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
import type { ChartNode, ChartTransition, StatechartGraph } from "./statechart-graph.js";

const COLUMN_WIDTH = 205;
const COLUMN_GAP = 165;
const ROW_GAP = 40;
const MARGIN = 40;
const HEADER = 30;
const PADDING = 10;
const CHILD_HEIGHT = 28;
const CHILD_GAP = 10;
/** Room on the right of a compound box for the arcs between its children. */
const ARC_ROOM = 56;
const ATOMIC_HEIGHT = 44;
const LANE_GAP = 24;

export interface PlacedNode {
  readonly node: ChartNode;
  readonly depth: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedEdge {
  readonly from: string;
  readonly to: string;
  readonly path: string;
  readonly labelX: number;
  readonly labelY: number;
  readonly anchor: "start" | "middle" | "end";
  /** Event names shown on the chart. */
  readonly label: string;
  /** The full transitions (event, guard, source), shown as a tooltip. */
  readonly title: string;
  readonly kind: "direct" | "lane" | "sibling";
}

export interface ChartLayout {
  readonly width: number;
  readonly height: number;
  readonly nodes: ReadonlyMap<string, PlacedNode>;
  readonly edges: readonly PlacedEdge[];
  readonly initial: { readonly x: number; readonly y: number } | null;
}

function topLevelOf(id: string): string {
  const dot = id.indexOf(".");
  return dot === -1 ? id : id.slice(0, dot);
}

function parentOf(id: string): string {
  const dot = id.lastIndexOf(".");
  return dot === -1 ? "" : id.slice(0, dot);
}

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
  const columns: ChartNode[][] = [];
  for (const child of graph.root.children) {
    const column = rank.get(child.id)!;
    (columns[column] ??= []).push(child);
  }
  // Within a column: the busiest states first (the main path of the lifecycle on top), then document order.
  const weight = (id: string): number =>
    graph.transitions.filter((t) => t.targets.length > 0 && (topLevelOf(t.source) === id || t.targets.some((target) => topLevelOf(target) === id))).length;
  for (const column of columns) if (column !== undefined) column.sort((a, b) => weight(b.id) - weight(a.id));

  const nodes = new Map<string, PlacedNode>();
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

  const edges = routeEdges(graph, nodes, rank, chartBottom);
  const laneCount = edges.filter((edge) => edge.kind === "lane").length;
  const width = MARGIN * 2 + 24 + columns.length * COLUMN_WIDTH + (columns.length - 1) * COLUMN_GAP;
  const height = chartBottom + MARGIN + laneCount * LANE_GAP + 10;
  const initialNode = graph.root.initial === null ? undefined : nodes.get(graph.root.initial);
  const initial = initialNode === undefined ? null : { x: initialNode.x - 22, y: initialNode.y + 15 };
  return { width, height, nodes, edges, initial };
}

interface EdgeGroup {
  from: string;
  to: string;
  transitions: ChartTransition[];
  kind: PlacedEdge["kind"];
}

function routeEdges(graph: StatechartGraph, nodes: Map<string, PlacedNode>, rank: Map<string, number>, chartBottom: number): PlacedEdge[] {
  // Group the transitions into the edges to draw.
  const groups = new Map<string, EdgeGroup>();
  for (const transition of graph.transitions) {
    for (const target of transition.targets) {
      if (transition.source === "") continue;
      let from = transition.source;
      let to = target;
      let kind: PlacedEdge["kind"];
      const fromTop = topLevelOf(from);
      const toTop = topLevelOf(to);
      if (fromTop !== toTop) {
        const span = rank.get(toTop)! - rank.get(fromTop)!;
        if (span === 1) kind = "direct";
        else {
          kind = "lane";
          from = fromTop;
          to = toTop;
        }
      } else if (parentOf(from) === parentOf(to) && from !== to) {
        kind = "sibling";
      } else {
        // A child to its own ancestor or similar: drawn as a sibling arc between the two boxes.
        kind = "sibling";
      }
      const key = `${from}>${to}`;
      const group = groups.get(key) ?? { from, to, transitions: [], kind };
      group.transitions.push(transition);
      groups.set(key, group);
    }
  }

  const edges: PlacedEdge[] = [];
  const direct = [...groups.values()].filter((group) => group.kind === "direct");
  // Where direct edges leave: a child's own height (several edges from one child fan out a little);
  // where they enter: spread along the target's side in the order of their sources.
  const exits = spread(direct, (group) => group.from, (group) => centerY(nodes.get(group.to)!), nodes);
  const entries = spread(direct, (group) => group.to, (group) => exitY(group), nodes);
  function exitY(group: EdgeGroup): number {
    return exits.get(group)!;
  }
  for (const group of direct) {
    const source = nodes.get(group.from)!;
    const target = nodes.get(group.to)!;
    // A child's edge runs straight out of its parent's box first, clear of the sibling arcs.
    const outer = nodes.get(topLevelOf(group.from))!;
    const childX = source.x + source.width;
    const startX = outer.x + outer.width;
    const startY = exitY(group);
    const endX = target.x;
    const endY = entries.get(group)!;
    const bend = (endX - startX) / 2;
    const curve: Point[] = [
      { x: startX, y: startY },
      { x: startX + bend, y: startY },
      { x: endX - bend, y: endY },
      { x: endX, y: endY },
    ];
    // Labels sit past the middle, towards the target: the source side is crowded by the sibling arcs.
    const label = bezierPoint(curve, 0.62);
    edges.push({
      ...describe(group),
      path: `M${childX},${startY} L${startX},${startY} C${startX + bend},${startY} ${endX - bend},${endY} ${endX},${endY}`,
      labelX: label.x,
      labelY: label.y - 4,
      anchor: "middle",
      kind: "direct",
    });
  }

  // Lanes run in the gaps between columns and under (forward) or over (backward) the chart, so
  // they never cross a box: out of the source's right side, along the lane, into the target's left side.
  let lane = 0;
  for (const group of groups.values()) {
    if (group.kind !== "lane") continue;
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
    lane++;
    const r = 8;
    const vertical = forward ? 1 : -1;
    const across = upX > downX ? 1 : -1;
    edges.push({
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
    });
  }

  // Sibling arcs: on the right of the parent box, each further out than the shorter ones inside it.
  const siblings = [...groups.values()].filter((group) => group.kind === "sibling");
  siblings.sort((a, b) => Math.abs(centerY(nodes.get(a.from)!) - centerY(nodes.get(a.to)!)) - Math.abs(centerY(nodes.get(b.from)!) - centerY(nodes.get(b.to)!)));
  const bulges = new Map<string, number>();
  for (const group of siblings) {
    const source = nodes.get(group.from)!;
    const target = nodes.get(group.to)!;
    const parent = parentOf(group.from);
    const count = bulges.get(parent) ?? 0;
    bulges.set(parent, count + 1);
    const startX = source.x + source.width;
    const endX = target.x + target.width;
    const startY = centerY(source) + (centerY(target) > centerY(source) ? 4 : -4);
    const endY = centerY(target) + (centerY(target) > centerY(source) ? -4 : 4);
    const outX = Math.max(startX, endX) + 12 + (count % 3) * 9;
    edges.push({
      ...describe(group),
      path: `M${startX},${startY} C${outX},${startY} ${outX},${endY} ${endX},${endY}`,
      // Labels of sibling arcs line up right of the arcs; `separateLabels` keeps them apart.
      labelX: Math.max(startX, endX) + 36,
      labelY: (startY + endY) / 2 + 3,
      anchor: "start",
      kind: "sibling",
    });
  }
  return separateLabels(edges);
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

interface Point {
  readonly x: number;
  readonly y: number;
}

function bezierPoint([p0, p1, p2, p3]: Point[], t: number): Point {
  const u = 1 - t;
  const a = u * u * u;
  const b = 3 * u * u * t;
  const c = 3 * u * t * t;
  const d = t * t * t;
  return { x: a * p0!.x + b * p1!.x + c * p2!.x + d * p3!.x, y: a * p0!.y + b * p1!.y + c * p2!.y + d * p3!.y };
}

function centerY(node: PlacedNode): number {
  return node.node.children.length > 0 ? node.y + HEADER / 2 : node.y + node.height / 2;
}

/** For each group, the y where it meets the side of the node `end` picks, spread evenly in the order of `order`. */
function spread(groups: EdgeGroup[], end: (group: EdgeGroup) => string, order: (group: EdgeGroup) => number, nodes: Map<string, PlacedNode>): Map<EdgeGroup, number> {
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
