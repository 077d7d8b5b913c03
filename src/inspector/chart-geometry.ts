/**
 * What the chart's layout (./layout.ts) and its edge routing (./edge-routing.ts) share: the
 * dimensions of the drawing, the placed shapes, and how a state's id names its ancestors.
 */
import type { ChartNode } from "./statechart-graph.js";

export const COLUMN_WIDTH = 205;
export const COLUMN_GAP = 165;
export const ROW_GAP = 40;
export const MARGIN = 40;
export const HEADER = 30;
export const PADDING = 10;
export const CHILD_HEIGHT = 28;
export const CHILD_GAP = 10;
/** Room on the right of a compound box for the arcs between its children. */
export const ARC_ROOM = 56;
export const ATOMIC_HEIGHT = 44;
export const LANE_GAP = 24;

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

/** The top-level state a state id is in ("OPEN" for "OPEN.active"). */
export function topLevelOf(id: string): string {
  const dot = id.indexOf(".");
  return dot === -1 ? id : id.slice(0, dot);
}

/** The parent's id ("" for a top-level state). */
export function parentOf(id: string): string {
  const dot = id.lastIndexOf(".");
  return dot === -1 ? "" : id.slice(0, dot);
}

/** Where edges meet a box vertically: the header of a compound state, the middle of an atomic one. */
export function centerY(node: PlacedNode): number {
  return node.node.children.length > 0 ? node.y + HEADER / 2 : node.y + node.height / 2;
}
