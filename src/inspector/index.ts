/**
 * `wsmachine/inspector`: watch connections in a browser, offline (README, "Offline inspector"),
 * and record them (README, "Flight recorder"). Node glue: the server and the trace writer
 * import node:*; the hub and the chart are portable.
 */
export { startInspector, renderPage, renderStandalonePage, type InspectorOptions, type RunningInspector } from "./server.js";
export {
  InspectorHub,
  preview,
  stateName,
  eventDetail,
  type HubOptions,
  type TrackedConnection,
  type ConnectionRecord,
  type LifecycleEntry,
  type FrameEntry,
  type EndInfo,
  type FeedMessage,
  type Preview,
  type Role,
} from "./hub.js";
export { traceWriter, jsonLinesRecorder, type TraceWriter, type TraceWriterOptions, type JsonLinesRecorder } from "./trace-writer.js";
export { statechartGraph, allNodes, type StatechartGraph, type ChartNode, type ChartTransition } from "./statechart-graph.js";
export { layoutStatechart, renderChartSvg, type ChartLayout, type PlacedNode, type PlacedEdge } from "./layout.js";
