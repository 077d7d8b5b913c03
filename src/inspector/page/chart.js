// The statechart on the inspector page: fit, zoom and pan (the SVG's viewBox), live counts per
// state, and a connection's route drawn on it (the states it went through, the transitions it
// took, numbered in order). Plain browser JavaScript; the chart itself is drawn by the server
// (the server's layout module, layout.js beside server.js) with data-state on every state and data-from / data-to on every transition.
"use strict";

const Chart = (() => {
  const svg = document.querySelector("svg.chart");
  const SVG_NS = "http://www.w3.org/2000/svg";
  const full = svg.viewBox.baseVal;
  const home = { x: full.x, y: full.y, width: full.width, height: full.height };
  let view = { ...home };
  // The server sets a fixed size; the page lets the SVG fill its panel and scales the viewBox.
  svg.removeAttribute("width");
  svg.removeAttribute("height");

  function apply() {
    svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.width} ${view.height}`);
  }

  function fit() {
    view = { ...home };
    apply();
  }

  /** Zoom by `factor` (> 1: closer) around a point given in chart coordinates. */
  function zoom(factor, cx = view.x + view.width / 2, cy = view.y + view.height / 2) {
    const width = Math.min(home.width * 4, Math.max(home.width / 8, view.width / factor));
    const scale = width / view.width;
    view = { x: cx - (cx - view.x) * scale, y: cy - (cy - view.y) * scale, width, height: view.height * scale };
    apply();
  }

  /** A point of the page in chart coordinates. */
  function toChart(clientX, clientY) {
    const point = svg.createSVGPoint();
    point.x = clientX;
    point.y = clientY;
    return point.matrixTransform(svg.getScreenCTM().inverse());
  }

  svg.addEventListener(
    "wheel",
    (event) => {
      event.preventDefault();
      const at = toChart(event.clientX, event.clientY);
      zoom(event.deltaY < 0 ? 1.15 : 1 / 1.15, at.x, at.y);
    },
    { passive: false },
  );
  let drag = null;
  svg.addEventListener("pointerdown", (event) => {
    drag = { start: toChart(event.clientX, event.clientY) };
    svg.setPointerCapture(event.pointerId);
    svg.classList.add("dragging");
  });
  svg.addEventListener("pointermove", (event) => {
    if (drag === null) return;
    const at = toChart(event.clientX, event.clientY);
    view.x -= at.x - drag.start.x;
    view.y -= at.y - drag.start.y;
    apply();
  });
  const endDrag = () => {
    drag = null;
    svg.classList.remove("dragging");
  };
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);

  /** "OPEN.active" → ["OPEN", "OPEN.active"]: a state and its ancestors, as data-state ids. */
  function withAncestors(state) {
    const parts = state.split(".");
    return parts.map((_, index) => parts.slice(0, index + 1).join("."));
  }

  const edges = [...svg.querySelectorAll("g.transition")];

  /**
   * The drawn edge for a change from one state to another: the chart groups long transitions
   * by top-level state, so the deepest pair of (ancestor of `from`, ancestor of `to`) that has one.
   */
  function edgeFor(from, to) {
    const fromIds = withAncestors(from);
    const toIds = withAncestors(to);
    let best = null;
    let bestDepth = -1;
    for (const edge of edges) {
      const fromDepth = fromIds.indexOf(edge.dataset.from);
      const toDepth = toIds.indexOf(edge.dataset.to);
      if (fromDepth === -1 || toDepth === -1) continue;
      if (fromDepth + toDepth > bestDepth) {
        bestDepth = fromDepth + toDepth;
        best = edge;
      }
    }
    return best;
  }

  /** Live connections per state (with their ancestors): "3 live" on each state's box. */
  function showCounts(states) {
    const counts = new Map();
    for (const state of states) for (const id of withAncestors(state)) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const badge of svg.querySelectorAll("[data-badge]")) {
      const count = counts.get(badge.dataset.badge) ?? 0;
      badge.textContent = count === 0 ? "" : `${count} live`;
      badge.parentElement.classList.toggle("occupied", count > 0);
    }
  }

  const marks = svg.appendChild(document.createElementNS(SVG_NS, "g"));
  marks.setAttribute("class", "step-marks");

  /**
   * The point where a step number goes on an edge, clear of its label: a direct edge's label sits
   * at 62% of its length (the layout module), a lane's in the middle of the lane, a sibling arc's beside it.
   */
  function markPoint(edge, index, count) {
    const path = edge.querySelector("path.edge");
    const length = path.getTotalLength();
    const share = (index + 1) / (count + 1);
    const at = edge.classList.contains("lane") ? 0.08 + 0.2 * share : edge.classList.contains("sibling") ? 0.3 + 0.4 * share : 0.38 + 0.16 * share;
    return path.getPointAtLength(length * at);
  }

  /**
   * Draw a route: `states` are the states entered, in order (the first is where it began);
   * `failed` marks the route as a failure's. Every edge taken gets the numbers of its steps.
   */
  function showRoute(states, failed) {
    marks.replaceChildren();
    const onRoute = new Set();
    for (const state of states) for (const id of withAncestors(state)) onRoute.add(id);
    const current = states.length === 0 ? new Set() : new Set(withAncestors(states[states.length - 1]));
    for (const node of svg.querySelectorAll("g.state")) {
      const id = node.dataset.state;
      node.classList.toggle("visited", onRoute.has(id));
      node.classList.toggle("current", current.has(id));
      node.classList.toggle("failed-route", failed && current.has(id));
    }
    const steps = new Map();
    for (let index = 1; index < states.length; index++) {
      const edge = edgeFor(states[index - 1], states[index]);
      if (edge === null) continue;
      const list = steps.get(edge) ?? [];
      list.push(index);
      steps.set(edge, list);
    }
    const last = states.length - 1;
    for (const edge of edges) {
      const list = steps.get(edge);
      edge.classList.toggle("taken", list !== undefined);
      edge.classList.toggle("last", list !== undefined && list.includes(last));
      edge.classList.toggle("failed-route", failed && list !== undefined && list.includes(last));
    }
    for (const [edge, list] of steps) {
      list.forEach((step, index) => {
        const point = markPoint(edge, index, list.length);
        const mark = document.createElementNS(SVG_NS, "g");
        mark.setAttribute("class", `step-mark${step === last ? " last" : ""}${failed && step === last ? " failed" : ""}`);
        mark.dataset.step = String(step);
        const circle = document.createElementNS(SVG_NS, "circle");
        circle.setAttribute("cx", String(point.x));
        circle.setAttribute("cy", String(point.y));
        circle.setAttribute("r", "10");
        const text = document.createElementNS(SVG_NS, "text");
        text.setAttribute("x", String(point.x));
        text.setAttribute("y", String(point.y + 4));
        text.setAttribute("text-anchor", "middle");
        text.textContent = String(step);
        mark.append(circle, text);
        marks.append(mark);
      });
    }
  }

  document.getElementById("fit").addEventListener("click", fit);
  document.getElementById("zoom-in").addEventListener("click", () => zoom(1.25));
  document.getElementById("zoom-out").addEventListener("click", () => zoom(1 / 1.25));
  fit();
  return { fit, zoom, showCounts, showRoute, withAncestors };
})();
